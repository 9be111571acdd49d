// A function's consumer-group membership, spoken to the coordinator in-process (no socket).
// Uses the standard consumer protocol so `kafka-consumer-groups --describe` shows the members.
import type { GroupCoordinator } from '../broker/groups/group-coordinator.js';
import { ErrorCode as E } from '../broker/protocol/generated/error-codes.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../api/http/consumers/consumer-protocol.js';
import { roundRobinAssign } from '../api/http/consumers/assignors.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MemberHooks {
  /** Called with this member's partitions after each rebalance. */
  assigned(parts: TopicPartition[], generation: { id: number; memberId: string }): void;
  /** Called before rejoining: stop work and commit what is done. */
  revoke(): Promise<void>;
  error(err: Error): void;
}

export interface MemberOptions {
  groupId: string;
  topics: string[];
  clientId: string;
  partitionCount(topic: string): number | undefined;
  sessionTimeoutMs?: number;
  heartbeatMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class GroupMember {
  memberId = '';
  generationId = -1;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly coord: GroupCoordinator,
    private readonly opts: MemberOptions,
    private readonly hooks: MemberHooks,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Leaves the group (after revoke), so the others rebalance at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.memberId !== '') this.coord.leave(this.opts.groupId, [{ memberId: this.memberId, groupInstanceId: null, reason: 'function stopped' }]);
    this.memberId = '';
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const ok = await this.joinAndSync();
        if (!ok) {
          await this.pause(500);
          continue;
        }
        await this.heartbeatUntilRebalance();
        await this.hooks.revoke();
      } catch (err) {
        this.hooks.error(err as Error);
        await this.pause(1_000);
      }
    }
    await this.hooks.revoke().catch((err: Error) => this.hooks.error(err));
  }

  private pause(ms: number): Promise<void> {
    return Promise.race([sleep(ms), new Promise<void>((r) => (this.wake = r))]);
  }

  private async joinAndSync(): Promise<boolean> {
    const sessionTimeoutMs = this.opts.sessionTimeoutMs ?? 30_000;
    const join = await this.coord.join({
      groupId: this.opts.groupId,
      memberId: this.memberId,
      groupInstanceId: null,
      clientId: this.opts.clientId,
      clientHost: '/in-process',
      sessionTimeoutMs,
      rebalanceTimeoutMs: 60_000,
      protocolType: 'consumer',
      protocols: [{ name: 'roundrobin', metadata: encodeSubscription(this.opts.topics) }],
      requireKnownMemberId: false,
    });
    if (join.errorCode === E.MEMBER_ID_REQUIRED) {
      this.memberId = join.memberId;
      return false;
    }
    if (join.errorCode === E.UNKNOWN_MEMBER_ID || join.errorCode === E.ILLEGAL_GENERATION) {
      this.memberId = '';
      return false;
    }
    if (join.errorCode !== E.NONE) throw new Error(`join ${this.opts.groupId} failed with error ${join.errorCode}`);
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === join.memberId) {
      const members = join.members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata) ?? [] }));
      const plan = roundRobinAssign(members, (t) => this.opts.partitionCount(t));
      assignments = [...plan].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }));
    }
    const sync = await this.coord.sync({
      groupId: this.opts.groupId,
      generationId: join.generationId,
      memberId: join.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: join.protocolName,
      assignments,
    });
    if (sync.errorCode !== E.NONE) {
      if (sync.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
      return false;
    }
    const parts: TopicPartition[] = [];
    for (const [topic, ps] of decodeAssignment(sync.assignment)) for (const partition of ps) parts.push({ topic, partition });
    this.hooks.assigned(parts, { id: join.generationId, memberId: join.memberId });
    return true;
  }

  private async heartbeatUntilRebalance(): Promise<void> {
    const every = this.opts.heartbeatMs ?? 1_000;
    for (;;) {
      await this.pause(every);
      if (this.stopped) return;
      const code = this.coord.heartbeat({ groupId: this.opts.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
      if (code === E.NONE) continue;
      if (code === E.UNKNOWN_MEMBER_ID) this.memberId = '';
      return;
    }
  }

  /** Commits for the current generation; returns the failing error code, or 0. */
  async commit(offsets: Array<{ topic: string; partition: number; offset: number; leaderEpoch: number }>): Promise<number> {
    if (offsets.length === 0) return E.NONE;
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, committedMetadata: null });
      byTopic.set(o.topic, list);
    }
    const res = await this.coord.commitOffsets({
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res) for (const p of t.partitions) if (p.errorCode !== E.NONE) return p.errorCode;
    return E.NONE;
  }

  committed(topic: string, partition: number): number {
    const r = this.coord.fetchOffsets(this.opts.groupId, [{ name: topic, partitions: [partition] }]);
    return r.topics[0]?.partitions[0]?.committedOffset ?? -1;
  }
}
