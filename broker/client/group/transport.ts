// How a function's group member reaches its coordinator. A single node talks to its own
// GroupCoordinator in-process; a cluster member speaks the Kafka wire (wire-group-transport.ts)
// because the coordinator is whichever broker holds the group's lease.
import type { GroupCoordinator } from '../../groups/group-coordinator.js';
import type { JoinRequest, JoinResult, SyncRequest, SyncResult } from '../../groups/group-types.js';
import { ErrorCode as E } from '../../protocol/generated/error-codes.js';

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
}

export interface MemberRef {
  groupId: string;
  generationId: number;
  memberId: string;
}

/** Committed offsets of a group, or the group-level error (e.g. NOT_COORDINATOR). */
export interface FetchedOffsets {
  errorCode: number;
  /** "topic/partition" -> offset; absent = nothing committed. */
  offsets: Map<string, number>;
}

export interface GroupTransport {
  join(req: JoinRequest): Promise<JoinResult>;
  sync(req: SyncRequest): Promise<SyncResult>;
  heartbeat(ref: MemberRef): Promise<number>;
  leave(groupId: string, memberId: string, reason: string): Promise<void>;
  /** The first failing error code, or NONE. */
  commit(ref: MemberRef, offsets: OffsetToCommit[]): Promise<number>;
  fetch(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Promise<FetchedOffsets>;
  /** Fails requests in flight (a join held by the coordinator) so a stopping member can leave. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** Codes after which the coordinator must be looked up again. */
export const COORDINATOR_MOVED = new Set<number>([E.NOT_COORDINATOR, E.COORDINATOR_NOT_AVAILABLE, E.COORDINATOR_LOAD_IN_PROGRESS]);

export function commitTopics(offsets: OffsetToCommit[]): Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }> }> {
  const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, committedMetadata: null });
    byTopic.set(o.topic, list);
  }
  return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
}

/** The node's own coordinator, no socket (single node). */
export class InProcessGroupTransport implements GroupTransport {
  constructor(private readonly coord: GroupCoordinator) {}

  join(req: JoinRequest): Promise<JoinResult> {
    return this.coord.join(req);
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    return this.coord.sync(req);
  }

  heartbeat(ref: MemberRef): Promise<number> {
    return Promise.resolve(this.coord.heartbeat({ ...ref, groupInstanceId: null }));
  }

  leave(groupId: string, memberId: string, reason: string): Promise<void> {
    this.coord.leave(groupId, [{ memberId, groupInstanceId: null, reason }]);
    return Promise.resolve();
  }

  async commit(ref: MemberRef, offsets: OffsetToCommit[]): Promise<number> {
    if (offsets.length === 0) return E.NONE;
    const res = await this.coord.commitOffsets({ ...ref, groupInstanceId: null, retentionTimeMs: -1, topics: commitTopics(offsets) });
    for (const t of res) for (const p of t.partitions) if (p.errorCode !== E.NONE) return p.errorCode;
    return E.NONE;
  }

  fetch(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Promise<FetchedOffsets> {
    const r = this.coord.fetchOffsets(groupId, topics);
    const offsets = new Map<string, number>();
    for (const t of r.topics) for (const p of t.partitions) if (p.committedOffset >= 0 && p.errorCode === E.NONE) offsets.set(`${t.name}/${p.partitionIndex}`, p.committedOffset);
    return Promise.resolve({ errorCode: r.errorCode, offsets });
  }

  // In-process requests cannot be cut short; the coordinator answers held joins within the rebalance timeout.
  abort(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
