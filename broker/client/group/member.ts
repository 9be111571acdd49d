// A function's consumer-group membership, spoken to the coordinator through a transport
// (in-process on a single node, the Kafka wire in a cluster). Uses the standard consumer
// protocol so `kafka-consumer-groups --describe` shows the members.
import { ErrorCode as E } from '../../protocol/generated/error-codes.js';
import { errorName } from '../errors.js';
import { COORDINATOR_MOVED, type GroupTransport, type OffsetToCommit } from './transport.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../protocol/consumer/consumer-protocol.js';
import { roundRobinAssign } from './assignors.js';

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
    private readonly transport: GroupTransport,
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
    if (this.loop) {
      // A join the coordinator holds (waiting for other members) would delay the stop: cut it.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), 3_000)));
      const done = await Promise.race([this.loop.then(() => true), late]);
      clearTimeout(timer);
      if (!done) await this.transport.abort();
      await this.loop;
    }
    if (this.memberId !== '') await this.transport.leave(this.opts.groupId, this.memberId, 'function stopped').catch(() => undefined);
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
    const join = await this.transport.join({
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
    // The coordinator moved or is taking over: look it up again shortly.
    if (COORDINATOR_MOVED.has(join.errorCode) || join.errorCode === E.REBALANCE_IN_PROGRESS) return false;
    if (join.errorCode !== E.NONE) throw new Error(`join ${this.opts.groupId} failed with ${errorName(join.errorCode)}`);
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (join.leader === join.memberId) {
      const members = join.members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata) ?? [] }));
      const plan = roundRobinAssign(members, (t) => this.opts.partitionCount(t));
      assignments = [...plan].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }));
    }
    const sync = await this.transport.sync({
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
      const code = await this.transport.heartbeat({ groupId: this.opts.groupId, generationId: this.generationId, memberId: this.memberId });
      if (code === E.NONE) continue;
      if (code === E.UNKNOWN_MEMBER_ID) this.memberId = '';
      return;
    }
  }

  /** Commits for the current generation; returns the failing error code, or 0. */
  commit(offsets: OffsetToCommit[]): Promise<number> {
    return this.transport.commit({ groupId: this.opts.groupId, generationId: this.generationId, memberId: this.memberId }, offsets);
  }

  /** The committed offset (-1 when none); throws when the coordinator cannot say. */
  async committed(topic: string, partition: number): Promise<number> {
    const r = await this.transport.fetch(this.opts.groupId, [{ name: topic, partitions: [partition] }]);
    if (r.errorCode !== E.NONE) throw new Error(`cannot read the committed offset of ${topic}/${partition}: ${errorName(r.errorCode)}`);
    return r.offsets.get(`${topic}/${partition}`) ?? -1;
  }
}
