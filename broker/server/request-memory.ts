/**
 * The broker-wide budget for request bytes held in memory: partial frames, decoded frames waiting
 * for a slot and frames whose handler has not finished (Kafka's queued.max.request.bytes).
 * Connections report what they hold and ask before reading more; over the budget they pause
 * their socket (TCP backpressure) and are resumed when bytes are released.
 *
 * Like Kafka's non-strict pool, a reader may overshoot by the chunk it already read. The last
 * eighth (at most 64 MiB) is kept for connections holding under 1 MiB, so clients holding big
 * partial frames cannot starve small requests (they can still be starved until the receive
 * timeout closes the holders, which frees the budget).
 *
 * One connection at a time may finish its partial frame over the budget (the "lane"), so
 * partial frames that together exceed the budget cannot wait for each other forever; Kafka
 * gets the same by reserving a frame's declared size before reading it. The lane's bytes do not
 * count against the small-request reserve, or one stalled lane holder would starve everyone.
 * Worst case is the budget plus one socket.request.max.bytes frame plus a chunk per connection.
 */
export class RequestMemory {
  used = 0;
  /** Reading paused for the budget, resumed in arrival order. */
  private readonly waiting = new Map<() => void, () => number>();
  private readonly bulkLimit: number;
  private readonly smallHolding: number;

  /** limit <= 0 means unbounded. */
  constructor(readonly limit: number) {
    const reserve = Math.min(Math.floor(limit / 8), 64 * 1024 * 1024);
    this.bulkLimit = limit - reserve;
    this.smallHolding = Math.min(1024 * 1024, reserve);
  }

  get bounded(): boolean {
    return this.limit > 0;
  }

  get waiters(): number {
    return this.waiting.size;
  }

  /** Adjusts the bytes held by `delta` (negative releases) and wakes readers when room appears. */
  adjust(delta: number): void {
    this.used += delta;
    if (delta < 0 && this.waiting.size > 0 && this.usedOutsideLane() < this.limit) this.wake();
  }

  /** Bytes held by connections other than the one finishing its frame over the budget. */
  private usedOutsideLane(): number {
    return this.laneHeld === null ? this.used : this.used - this.laneHeld();
  }

  /** Whether a connection currently holding `own` bytes may read more. */
  mayRead(own: number): boolean {
    if (!this.bounded) return true;
    if (this.used < this.bulkLimit) return true;
    return this.usedOutsideLane() < this.limit && own < this.smallHolding;
  }

  /** `own` reports the waiter's holding when it is considered for waking. */
  private lane: (() => void) | null = null;
  private laneHeld: (() => number) | null = null;

  /** Lets the caller finish its current frame over the budget; false if another one does. */
  claimLane(owner: () => void, own: () => number): boolean {
    if (this.lane !== null && this.lane !== owner) return false;
    this.lane = owner;
    this.laneHeld = own;
    return true;
  }

  releaseLane(owner: () => void): void {
    if (this.lane !== owner) return;
    this.lane = null;
    this.laneHeld = null;
    if (this.waiting.size > 0 && this.used < this.limit) this.wake();
  }

  wait(resume: () => void, own: () => number): void {
    this.waiting.set(resume, own);
  }

  cancel(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private wake(): void {
    // Each woken reader reads a chunk and asks again, so waking several is safe.
    for (const [resume, own] of [...this.waiting]) {
      if (!this.mayRead(own())) continue;
      this.waiting.delete(resume);
      resume();
    }
  }
}
