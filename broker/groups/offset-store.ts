// Durable home of committed offsets. The coordinator keeps group membership in memory only
// (clients rejoin after a restart); committed offsets go through this interface.

export interface CommittedOffset {
  offset: number;
  /** -1 when the client sent none. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Explicit expiry from an old OffsetCommit retention time; null = broker retention rules. */
  expireTimestamp: number | null;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface OffsetWrite extends TopicPartition {
  value: CommittedOffset;
}

/** topic -> partition -> offset */
export type GroupOffsets = ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>>;

export interface OffsetStore {
  /** Loads every stored commit; reads below are valid only after this resolves. */
  open(): Promise<void>;
  close(): Promise<void>;
  groupIds(): string[];
  offsets(groupId: string): GroupOffsets | undefined;
  /**
   * Records the commits and resolves once they are durable. Calls for one group take effect in
   * call order, so a later commit is never overwritten by an earlier one that finished late.
   * `tenure` is the coordinator's claim on the group when it validated the commit (the group
   * lease epoch in a cluster); a store that fences writes refuses the commit once it is stale.
   */
  commit(groupId: string, writes: OffsetWrite[], tenure?: number): Promise<void>;
  /** Removes the listed partitions' commits, or every commit of the group when null. */
  delete(groupId: string, partitions: TopicPartition[] | null): Promise<void>;
}
