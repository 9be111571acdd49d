/** A response slot: pending until its handler settles; `body` null means "send nothing". */
interface Slot {
  done: boolean;
  body: Buffer[] | null;
}

/**
 * Keeps responses in request order while handlers finish in any order. Sans-I/O: settle()
 * returns the bodies that became sendable, oldest first.
 */
export class ResponseOrder {
  private readonly slots: Slot[] = [];
  private head = 0;
  /** Sequence number of slots[0]; tokens are sequence numbers so compaction keeps them valid. */
  private base = 0;

  /** Requests reserved and not yet released (including those waiting behind an earlier one). */
  get size(): number {
    return this.slots.length - this.head;
  }

  /** Token of the oldest request not yet released (all tokens below it have been answered). */
  get nextUnreleased(): number {
    return this.base + this.head;
  }

  /** Forgets the bodies of every slot after `token` (already settled or not): they will be sent as nothing. */
  dropAfter(token: number): void {
    for (let i = token - this.base + 1; i < this.slots.length; i++) this.slots[i]!.body = null;
  }

  /** Reserves the next position; pass the returned token to settle(). */
  reserve(): number {
    this.slots.push({ done: false, body: null });
    return this.base + this.slots.length - 1;
  }

  /** Records a result and releases every leading settled slot. Null bodies are skipped. */
  settle(token: number, body: Buffer[] | null): Buffer[][] {
    const slot = this.slots[token - this.base];
    if (slot === undefined || slot.done) throw new Error(`response slot ${token} settled twice`);
    slot.done = true;
    slot.body = body;
    const ready: Buffer[][] = [];
    while (this.head < this.slots.length) {
      const first = this.slots[this.head]!;
      if (!first.done) break;
      if (first.body !== null) ready.push(first.body);
      first.body = null;
      this.head++;
    }
    this.compact();
    return ready;
  }

  // Drop released slots in bulk so a long-lived pipelined connection does not grow the array.
  private compact(): void {
    if (this.head === 0) return;
    if (this.head === this.slots.length || this.head >= 1024) {
      this.slots.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
