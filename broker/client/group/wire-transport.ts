// A group member's coordinator over the Kafka wire, for clusters: FindCoordinator through the
// local broker, then JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit/OffsetFetch to the
// broker holding the group's lease. A lost connection, a timeout or NOT_COORDINATOR drops the
// cached coordinator and surfaces as COORDINATOR_NOT_AVAILABLE, so the member looks it up again.
import type { JoinRequest, JoinResult, SyncRequest, SyncResult } from '../../groups/group-types.js';
import { ErrorCode as E } from '../../protocol/generated/error-codes.js';
import { groupCoordinator } from '../admin.js';
import { OffsetCommit, OffsetFetch } from '../apis.js';
import { ConnectionError, KafkaError, RequestTimeoutError } from '../errors.js';
import { Heartbeat, JoinGroup, LeaveGroup, SyncGroup } from '../group-apis.js';
import { KafkaClient, type NodeConnection } from '../kafka-client.js';
import { COORDINATOR_MOVED, commitTopics, type FetchedOffsets, type GroupTransport, type MemberRef, type OffsetToCommit } from './transport.js';

export interface WireTransportOptions {
  /** Where FindCoordinator goes: normally this broker's own listener. */
  bootstrap: () => { host: string; port: number };
  clientId: string;
  requestTimeoutMs?: number;
}

const EMPTY = Buffer.alloc(0);

export class WireGroupTransport implements GroupTransport {
  private client: Promise<KafkaClient> | null = null;
  private coordinators = new Map<string, NodeConnection>();
  private closed = false;

  constructor(private readonly opts: WireTransportOptions) {}

  private async kafka(): Promise<KafkaClient> {
    if (this.closed) throw new ConnectionError('group transport closed');
    const cur = this.client ? await this.client.catch(() => null) : null;
    if (cur && !cur.bootstrap.conn.closed) return cur;
    if (cur) await cur.close().catch(() => undefined);
    const b = this.opts.bootstrap();
    this.client = KafkaClient.connect(`${b.host}:${b.port}`, { clientId: this.opts.clientId, requestTimeoutMs: this.opts.requestTimeoutMs ?? 30_000 });
    this.client.catch(() => (this.client = null));
    return this.client;
  }

  private async coordinator(groupId: string): Promise<NodeConnection> {
    const cached = this.coordinators.get(groupId);
    if (cached && !cached.conn.closed) return cached;
    const node = await groupCoordinator(await this.kafka(), groupId);
    this.coordinators.set(groupId, node);
    return node;
  }

  /** Runs one request against the coordinator; transport failures become an error code. */
  private async call<T>(groupId: string, fn: (node: NodeConnection) => Promise<T>, codeOf: (res: T) => number, onFailure: (code: number) => T): Promise<T> {
    let node: NodeConnection;
    try {
      node = await this.coordinator(groupId);
    } catch (err) {
      this.coordinators.delete(groupId);
      if (err instanceof KafkaError) return onFailure(COORDINATOR_MOVED.has(err.code) ? err.code : E.COORDINATOR_NOT_AVAILABLE);
      if (err instanceof ConnectionError || err instanceof RequestTimeoutError) return onFailure(E.COORDINATOR_NOT_AVAILABLE);
      throw err;
    }
    try {
      const res = await fn(node);
      if (COORDINATOR_MOVED.has(codeOf(res))) this.coordinators.delete(groupId);
      return res;
    } catch (err) {
      if (err instanceof ConnectionError || err instanceof RequestTimeoutError) {
        this.coordinators.delete(groupId);
        return onFailure(E.COORDINATOR_NOT_AVAILABLE);
      }
      throw err;
    }
  }

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number): JoinResult => ({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: req.memberId, members: [], skipAssignment: false });
    return this.call(
      req.groupId,
      async (node) => {
        const res = await node.send(
          JoinGroup,
          {
            groupId: req.groupId,
            sessionTimeoutMs: req.sessionTimeoutMs,
            rebalanceTimeoutMs: req.rebalanceTimeoutMs,
            memberId: req.memberId,
            groupInstanceId: req.groupInstanceId,
            protocolType: req.protocolType,
            protocols: req.protocols,
            reason: req.reason ?? null,
          },
          // A join is held until every member rejoined (up to the rebalance timeout).
          { timeoutMs: req.rebalanceTimeoutMs + 10_000 },
        );
        return {
          errorCode: res.errorCode,
          generationId: res.generationId,
          protocolType: res.protocolType,
          protocolName: res.protocolName,
          leader: res.leader,
          memberId: res.memberId,
          members: res.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
          skipAssignment: res.skipAssignment,
        } satisfies JoinResult;
      },
      (r) => r.errorCode,
      fail,
    );
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    return this.call(
      req.groupId,
      async (node) => {
        const res = await node.send(SyncGroup, req, { timeoutMs: 70_000 });
        return { errorCode: res.errorCode, protocolType: res.protocolType, protocolName: res.protocolName, assignment: res.assignment } satisfies SyncResult;
      },
      (r) => r.errorCode,
      (errorCode) => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY }),
    );
  }

  heartbeat(ref: MemberRef): Promise<number> {
    return this.call(
      ref.groupId,
      async (node) => (await node.send(Heartbeat, { ...ref, groupInstanceId: null })).errorCode,
      (c) => c,
      (c) => c,
    );
  }

  async leave(groupId: string, memberId: string, reason: string): Promise<void> {
    await this.call(
      groupId,
      async (node) => (await node.send(LeaveGroup, { groupId, memberId, members: [{ memberId, groupInstanceId: null, reason }] }, { timeoutMs: 5_000 })).errorCode,
      (c) => c,
      (c) => c,
    );
  }

  commit(ref: MemberRef, offsets: OffsetToCommit[]): Promise<number> {
    if (offsets.length === 0) return Promise.resolve(E.NONE);
    return this.call(
      ref.groupId,
      async (node) => {
        const res = await node.send(OffsetCommit, {
          groupId: ref.groupId,
          generationIdOrMemberEpoch: ref.generationId,
          memberId: ref.memberId,
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: commitTopics(offsets).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ ...p, commitTimestamp: -1, committedMetadata: '' })) })),
        });
        for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== E.NONE) return p.errorCode;
        return E.NONE;
      },
      (c) => c,
      (c) => c,
    );
  }

  fetch(groupId: string, topics: Array<{ name: string; partitions: number[] }>): Promise<FetchedOffsets> {
    return this.call(
      groupId,
      async (node) => {
        const asReq = topics.map((t) => ({ name: t.name, partitionIndexes: t.partitions }));
        const res = await node.send(OffsetFetch, { groupId, topics: asReq, groups: [{ groupId, memberId: null, memberEpoch: -1, topics: asReq }], requireStable: false });
        // v8+ answers per group; older versions at the top level.
        const g = node.version(OffsetFetch) >= 8 ? res.groups[0] : { errorCode: res.errorCode, topics: res.topics };
        const offsets = new Map<string, number>();
        if (!g) return { errorCode: E.COORDINATOR_NOT_AVAILABLE, offsets };
        for (const t of g.topics) {
          for (const p of t.partitions) {
            // A partition-level error (e.g. UNSTABLE_OFFSET_COMMIT) must not read as "nothing committed".
            if (p.errorCode !== E.NONE) return { errorCode: p.errorCode, offsets: new Map<string, number>() };
            if (p.committedOffset >= 0) offsets.set(`${t.name}/${p.partitionIndex}`, p.committedOffset);
          }
        }
        return { errorCode: g.errorCode, offsets };
      },
      (r) => r.errorCode,
      (errorCode) => ({ errorCode, offsets: new Map<string, number>() }),
    );
  }

  async abort(): Promise<void> {
    const c = this.client ? await this.client.catch(() => null) : null;
    this.client = null;
    this.coordinators.clear();
    await c?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client ? await this.client.catch(() => null) : null;
    this.client = null;
    this.coordinators.clear();
    await c?.close();
  }
}
