export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Leader epoch -> first offset written in it; epochs and start offsets both non-decreasing. */
export class EpochHistory {
  private entries: EpochEntry[] = [];

  constructor(entries: readonly EpochEntry[] = []) {
    for (const e of [...entries].sort((a, b) => a.epoch - b.epoch || a.startOffset - b.startOffset)) this.assign(e.epoch, e.startOffset);
  }

  get latest(): EpochEntry | undefined {
    return this.entries[this.entries.length - 1];
  }

  /** Records that `epoch` starts at `startOffset`; ignored unless it is a newer epoch. */
  assign(epoch: number, startOffset: number): boolean {
    const last = this.latest;
    if (last !== undefined && (epoch <= last.epoch || startOffset < last.startOffset)) return false;
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops epochs that start past the end of the (truncated) log. */
  truncateAfter(endOffset: number): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.startOffset <= endOffset);
    return this.entries.length !== before;
  }

  /** Kafka's OffsetForLeaderEpoch answer; (-1, -1) when the epoch is unknown or newer. */
  endOffsetFor(epoch: number, logEndOffset: number): { leaderEpoch: number; endOffset: number } {
    const latest = this.latest;
    if (epoch < 0 || latest === undefined) return { leaderEpoch: -1, endOffset: -1 };
    if (epoch === latest.epoch) return { leaderEpoch: epoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return { leaderEpoch: -1, endOffset: -1 };
    const floor = higher > 0 ? this.entries[higher - 1]! : undefined;
    return { leaderEpoch: floor?.epoch ?? epoch, endOffset: this.entries[higher]!.startOffset };
  }

  toJSON(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
