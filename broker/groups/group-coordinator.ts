// Kafka's classic group protocol: membership, rebalances and committed offsets for every group
// this node coordinates. State changes are synchronous (one event loop), so no locking; only
// offset writes are asynchronous, and the store orders them.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { CoordinatorOwnership } from './coordinator-ownership.js';
import { Group } from './group.js';
import { GroupMember } from './group-member.js';
import type {
  CommitRequest,
  DescribedGroup,
  FetchResult,
  GroupState,
  HeartbeatRequest,
  JoinRequest,
  JoinResult,
  LeaveResult,
  LeavingMember,
  ListedGroup,
  PartitionError,
  Protocol,
  SyncRequest,
  SyncResult,
  TopicErrors,
  TopicPartitions,
} from './group-types.js';
import type { OffsetStore, OffsetWrite, TopicPartition } from './offset-store.js';

export interface GroupCoordinatorOptions {
  /** group.initial.rebalance.delay.ms: how long a new group's first join phase waits for more members. */
  groupInitialRebalanceDelayMs: number;
  /** offsets.retention.minutes, in ms: commits of an Empty group are dropped after this. */
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs?: number;
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** group.max.size */
  maxGroupSize?: number;
  /** Total protocol metadata bytes one member may send in JoinGroup. */
  maxMemberMetadataBytes?: number;
  /** offset.metadata.max.bytes */
  offsetMetadataMaxBytes?: number;
  /** A member that joined but never completed a join phase is dropped after this. */
  newMemberJoinTimeoutMs?: number;
}

export interface TopicLookup {
  /** Partition count of an existing topic; undefined when it does not exist. */
  partitionCount(topic: string): number | undefined;
}

const DEFAULTS = {
  offsetsRetentionCheckIntervalMs: 600_000,
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  maxGroupSize: 10_000,
  maxMemberMetadataBytes: 1024 * 1024,
  offsetMetadataMaxBytes: 4096,
  newMemberJoinTimeoutMs: 300_000,
};

const EMPTY = Buffer.alloc(0);
const E = ErrorCode;

function joinError(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

function metadataBytes(protocols: readonly Protocol[]): number {
  let n = 0;
  for (const p of protocols) n += p.metadata.length + Buffer.byteLength(p.name);
  return n;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private loaded = false;
  private closed = false;
  private cleanupTimer: Timer | null = null;
  private readonly o: Required<GroupCoordinatorOptions>;

  constructor(
    opts: GroupCoordinatorOptions,
    readonly store: OffsetStore,
    private readonly topics: TopicLookup,
    readonly ownership: CoordinatorOwnership,
    private readonly clock: Clock = systemClock,
    private readonly log?: Logger,
  ) {
    const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Required<GroupCoordinatorOptions>;
  }

  /** Loads committed offsets; until then group requests get COORDINATOR_LOAD_IN_PROGRESS. */
  async open(): Promise<void> {
    await this.store.open();
    const now = this.clock.now();
    for (const id of this.store.groupIds()) if (!this.groups.has(id)) this.groups.set(id, new Group(id, now));
    this.loaded = true;
    this.scheduleOffsetCleanup();
  }

  /** Answers every held request with NOT_COORDINATOR (clients find the coordinator again). */
  async close(): Promise<void> {
    this.closed = true;
    this.cleanupTimer?.cancel();
    for (const g of this.groups.values()) this.unload(g, E.NOT_COORDINATOR);
    this.groups.clear();
    await this.store.close();
  }

  /** Current state of a group (undefined when unknown); for tests and admin views. */
  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  // ---- membership ---------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (code: number, memberId = req.memberId): Promise<JoinResult> => Promise.resolve(joinError(code, memberId));
    const pre = this.precheck(req.groupId, false);
    if (pre !== E.NONE) return fail(pre);
    if (req.sessionTimeoutMs < this.o.minSessionTimeoutMs || req.sessionTimeoutMs > this.o.maxSessionTimeoutMs) return fail(E.INVALID_SESSION_TIMEOUT);
    if (metadataBytes(req.protocols) > this.o.maxMemberMetadataBytes) return fail(E.INVALID_REQUEST);
    if (req.protocolType === '' || req.protocols.length === 0) return fail(E.INCONSISTENT_GROUP_PROTOCOL);
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberId !== '') return fail(E.UNKNOWN_MEMBER_ID);
      group = this.newGroup(req.groupId);
    }
    if (group.state === 'Dead') return fail(E.COORDINATOR_NOT_AVAILABLE);
    if (!this.accepts(group, req)) {
      this.dropIfUnused(group);
      return fail(E.GROUP_MAX_SIZE_REACHED);
    }
    return req.memberId === '' ? this.joinUnknown(group, req) : this.joinKnown(group, req);
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    const fail = (code: number): Promise<SyncResult> => Promise.resolve(syncError(code));
    const pre = this.precheck(req.groupId, false);
    if (pre !== E.NONE) return fail(pre);
    const group = this.groups.get(req.groupId);
    if (!group) return fail(E.UNKNOWN_MEMBER_ID);
    if (group.state === 'Dead') return fail(E.COORDINATOR_NOT_AVAILABLE);
    if (group.isFenced(req.groupInstanceId, req.memberId)) return fail(E.FENCED_INSTANCE_ID);
    const m = group.members.get(req.memberId);
    if (!m) return fail(E.UNKNOWN_MEMBER_ID);
    if (req.generationId !== group.generationId) return fail(E.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return fail(E.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (group.state) {
      case 'Empty':
        return fail(E.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return fail(E.REBALANCE_IN_PROGRESS);
      case 'CompletingRebalance': {
        this.syncReceived(group, m.memberId);
        this.scheduleMemberExpiry(group, m);
        const p = this.awaitSync(m);
        if (m.memberId === group.leaderId) this.completeSync(group, req.assignments);
        return p;
      }
      case 'Stable':
        this.syncReceived(group, m.memberId);
        this.scheduleMemberExpiry(group, m);
        return Promise.resolve({ errorCode: E.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
    }
  }

  heartbeat(req: HeartbeatRequest): number {
    const pre = this.precheck(req.groupId, false);
    if (pre !== E.NONE) return pre;
    const group = this.groups.get(req.groupId);
    if (!group) return E.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return E.COORDINATOR_NOT_AVAILABLE;
    if (group.isFenced(req.groupInstanceId, req.memberId)) return E.FENCED_INSTANCE_ID;
    const m = group.members.get(req.memberId);
    if (!m) return E.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return E.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
        return E.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleMemberExpiry(group, m);
        return E.REBALANCE_IN_PROGRESS;
      default:
        // CompletingRebalance counts too: clients may heartbeat between join and sync.
        this.scheduleMemberExpiry(group, m);
        return E.NONE;
    }
  }

  leave(groupId: string, leaving: LeavingMember[]): LeaveResult {
    const pre = this.precheck(groupId, false);
    if (pre !== E.NONE) return { errorCode: pre, members: [] };
    const group = this.groups.get(groupId);
    if (!group) {
      return { errorCode: E.NONE, members: leaving.map((l) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode: E.UNKNOWN_MEMBER_ID })) };
    }
    if (group.state === 'Dead') return { errorCode: E.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode: this.leaveOne(group, l) }));
    return { errorCode: E.NONE, members };
  }

  // ---- offsets ------------------------------------------------------------------------------

  async commitOffsets(req: CommitRequest): Promise<TopicErrors> {
    const all = (code: number): TopicErrors => req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }));
    const pre = this.precheck(req.groupId, true);
    if (pre !== E.NONE) return all(pre);
    let group = this.groups.get(req.groupId);
    if (!group) {
      // Only a standalone consumer (no generation) may create a group by committing.
      if (req.generationId >= 0) return all(E.ILLEGAL_GENERATION);
      group = this.newGroup(req.groupId);
    }
    const groupErr = this.validateCommit(group, req);
    if (groupErr !== E.NONE) return all(groupErr);
    // The write is fenced by the spell of ownership the member and generation were checked in.
    const tenure = group.tenure;

    const now = this.clock.now();
    const writes: OffsetWrite[] = [];
    const result: TopicErrors = [];
    const written: PartitionError[] = [];
    for (const t of req.topics) {
      const count = this.topics.partitionCount(t.name);
      const partitions: PartitionError[] = [];
      for (const p of t.partitions) {
        const pe: PartitionError = { partitionIndex: p.partitionIndex, errorCode: E.NONE };
        partitions.push(pe);
        if (count === undefined || p.partitionIndex < 0 || p.partitionIndex >= count) {
          pe.errorCode = E.UNKNOWN_TOPIC_OR_PARTITION;
        } else if (p.committedMetadata !== null && p.committedMetadata.length > this.o.offsetMetadataMaxBytes) {
          pe.errorCode = E.OFFSET_METADATA_TOO_LARGE;
        } else {
          writes.push({
            topic: t.name,
            partition: p.partitionIndex,
            value: {
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch,
              metadata: p.committedMetadata ?? '',
              commitTimestamp: now,
              expireTimestamp: req.retentionTimeMs >= 0 ? now + req.retentionTimeMs : null,
            },
          });
          written.push(pe);
        }
      }
      result.push({ name: t.name, partitions });
    }
    try {
      await this.store.commit(req.groupId, writes, tenure);
    } catch (err) {
      this.log?.error({ err, groupId: req.groupId }, 'offset commit not durable');
      // Retriable for every client: it looks the coordinator up again and retries.
      for (const pe of written) pe.errorCode = E.COORDINATOR_NOT_AVAILABLE;
    }
    return result;
  }

  /** topics null = every partition the group has a commit for. */
  fetchOffsets(groupId: string, topics: TopicPartitions[] | null): FetchResult {
    const pre = this.precheck(groupId, true);
    if (pre !== E.NONE) return { errorCode: pre, topics: [] };
    const stored = this.groups.has(groupId) ? this.store.offsets(groupId) : undefined;
    if (topics === null) {
      const out: FetchResult['topics'] = [];
      for (const [name, parts] of stored ?? []) {
        const partitions = [...parts]
          .sort((a, b) => a[0] - b[0])
          .map(([partitionIndex, v]) => ({ partitionIndex, committedOffset: v.offset, committedLeaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: E.NONE }));
        out.push({ name, partitions });
      }
      return { errorCode: E.NONE, topics: out };
    }
    return {
      errorCode: E.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => {
          const v = stored?.get(t.name)?.get(partitionIndex);
          return v
            ? { partitionIndex, committedOffset: v.offset, committedLeaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: E.NONE }
            : { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: E.NONE };
        }),
      })),
    };
  }

  async deleteOffsets(groupId: string, topics: TopicPartitions[]): Promise<{ errorCode: number; topics: TopicErrors }> {
    const pre = this.precheck(groupId, false);
    if (pre !== E.NONE) return { errorCode: pre, topics: [] };
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return { errorCode: E.GROUP_ID_NOT_FOUND, topics: [] };
    let subscribed: Set<string> | null = new Set();
    if (group.state !== 'Empty') {
      if (group.protocolType !== 'consumer') return { errorCode: E.NON_EMPTY_GROUP, topics: [] };
      subscribed = group.subscribedTopics();
    }
    const doomed: TopicPartition[] = [];
    const result: TopicErrors = topics.map((t) => {
      const known = this.topics.partitionCount(t.name) !== undefined;
      const inUse = subscribed === null || subscribed.has(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => {
          if (!known) return { partitionIndex, errorCode: E.UNKNOWN_TOPIC_OR_PARTITION };
          if (inUse) return { partitionIndex, errorCode: E.GROUP_SUBSCRIBED_TO_TOPIC };
          doomed.push({ topic: t.name, partition: partitionIndex });
          return { partitionIndex, errorCode: E.NONE };
        }),
      };
    });
    try {
      await this.store.delete(groupId, doomed);
    } catch (err) {
      this.log?.error({ err, groupId }, 'offset delete not durable');
      return { errorCode: E.COORDINATOR_NOT_AVAILABLE, topics: [] };
    }
    return { errorCode: E.NONE, topics: result };
  }

  /** Drops commits for a deleted topic from every group. */
  async removeTopicOffsets(topic: string): Promise<void> {
    for (const groupId of this.store.groupIds()) {
      const parts = this.store.offsets(groupId)?.get(topic);
      if (parts) await this.store.delete(groupId, [...parts.keys()].map((partition) => ({ topic, partition })));
    }
  }

  /**
   * Drops expired commits of groups without members, then forgets groups that are empty and
   * have no commits left. Runs every offsetsRetentionCheckIntervalMs; returns commits removed.
   */
  async expireOffsets(now = this.clock.now()): Promise<number> {
    let removed = 0;
    for (const group of [...this.groups.values()]) {
      if (group.state !== 'Empty') continue;
      const stored = this.store.offsets(group.groupId);
      if (stored) {
        const emptySince = group.everHadMembers ? group.stateSince : 0;
        const expired: TopicPartition[] = [];
        for (const [topic, parts] of stored) {
          for (const [partition, v] of parts) {
            const deadline = v.expireTimestamp ?? Math.max(v.commitTimestamp, emptySince) + this.o.offsetsRetentionMs;
            if (now >= deadline) expired.push({ topic, partition });
          }
        }
        if (expired.length > 0) {
          await this.store.delete(group.groupId, expired);
          removed += expired.length;
          this.log?.info({ groupId: group.groupId, partitions: expired.length }, 'expired committed offsets');
        }
      }
      // Re-checked after the await: the group may have gained members or commits meanwhile.
      if (group.state === 'Empty' && group.size === 0 && group.pendingMembers.size === 0 && !this.store.offsets(group.groupId) && this.groups.get(group.groupId) === group) {
        this.unload(group, E.COORDINATOR_NOT_AVAILABLE);
        group.transition('Dead', now);
        this.groups.delete(group.groupId);
      }
    }
    return removed;
  }

  // ---- admin --------------------------------------------------------------------------------

  describe(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const dead: DescribedGroup = { errorCode: E.NONE, groupId, state: 'Dead', protocolType: '', protocolName: '', members: [] };
      const pre = this.precheck(groupId, true);
      if (pre !== E.NONE) return { ...dead, errorCode: pre };
      const g = this.groups.get(groupId);
      if (!g) return dead;
      // Like Kafka, metadata and assignments are shown only once the group is Stable.
      const stable = g.state === 'Stable';
      return {
        errorCode: E.NONE,
        groupId,
        state: g.state,
        protocolType: g.protocolType ?? '',
        protocolName: stable ? (g.protocolName ?? '') : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: stable ? m.metadataFor(g.protocolName) : EMPTY,
          assignment: stable ? m.assignment : EMPTY,
        })),
      };
    });
  }

  /** states: case-insensitive filter, empty = all. Every group here is a classic group. */
  list(states: string[] = [], types: string[] = []): { errorCode: number; groups: ListedGroup[] } {
    if (this.closed) return { errorCode: E.COORDINATOR_NOT_AVAILABLE, groups: [] };
    if (!this.loaded) return { errorCode: E.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
    if (types.length > 0 && !types.some((t) => t.toLowerCase() === 'classic')) return { errorCode: E.NONE, groups: [] };
    const wanted = new Set(states.map((s) => s.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.state === 'Dead' || !this.ownership.owns(g.groupId)) continue;
      if (wanted.size > 0 && !wanted.has(g.state.toLowerCase())) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return { errorCode: E.NONE, groups };
  }

  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    return Promise.all(
      groupIds.map(async (groupId) => {
        const pre = this.precheck(groupId, true);
        if (pre !== E.NONE) return { groupId, errorCode: pre };
        const g = this.groups.get(groupId);
        if (!g || g.state === 'Dead') return { groupId, errorCode: E.GROUP_ID_NOT_FOUND };
        if (g.state !== 'Empty' || g.size > 0) return { groupId, errorCode: E.NON_EMPTY_GROUP };
        this.unload(g, E.COORDINATOR_NOT_AVAILABLE);
        g.transition('Dead', this.clock.now());
        this.groups.delete(groupId);
        try {
          if (this.store.offsets(groupId)) await this.store.delete(groupId, null);
        } catch (err) {
          this.log?.error({ err, groupId }, 'group delete not durable');
          return { groupId, errorCode: E.COORDINATOR_NOT_AVAILABLE };
        }
        return { groupId, errorCode: E.NONE };
      }),
    );
  }

  // ---- internals: checks --------------------------------------------------------------------

  private precheck(groupId: string, allowEmptyId: boolean): number {
    if (!allowEmptyId && groupId === '') return E.INVALID_GROUP_ID;
    if (this.closed) return E.COORDINATOR_NOT_AVAILABLE;
    if (!this.loaded) return E.COORDINATOR_LOAD_IN_PROGRESS;
    if (!this.ownership.owns(groupId)) return E.NOT_COORDINATOR;
    this.checkTenure(groupId);
    return E.NONE;
  }

  /**
   * Membership kept from an earlier spell of ownership is stale: meanwhile another coordinator
   * ran the group, with other members and generations. A member of that old generation must
   * not commit now (it would overwrite newer commits), so the old state is dropped and its
   * members rejoin.
   */
  private checkTenure(groupId: string): void {
    if (this.ownership.tenure === undefined) return;
    const tenure = this.ownership.tenure(groupId);
    const group = this.groups.get(groupId);
    if (!group) {
      // Commits another coordinator made: the group exists here from now on.
      if (this.store.offsets(groupId)) this.newGroup(groupId);
      return;
    }
    if (group.tenure === tenure) return;
    if (group.tenure !== undefined || group.size > 0 || group.pendingMembers.size > 0) {
      this.log?.info({ groupId, from: group.tenure, to: tenure, generationId: group.generationId }, 'group state from an earlier coordinator spell dropped');
    }
    this.unload(group, E.NOT_COORDINATOR);
    group.transition('Dead', this.clock.now());
    this.groups.delete(groupId);
    if (this.store.offsets(groupId)) this.newGroup(groupId);
  }

  private newGroup(groupId: string): Group {
    const group = new Group(groupId, this.clock.now());
    group.tenure = this.ownership.tenure?.(groupId);
    this.groups.set(groupId, group);
    return group;
  }

  private accepts(group: Group, req: JoinRequest): boolean {
    if (group.members.has(req.memberId)) return true;
    if (req.groupInstanceId !== null && group.staticMembers.has(req.groupInstanceId)) return true;
    return group.size < this.o.maxGroupSize;
  }

  private validateCommit(group: Group, req: CommitRequest): number {
    if (group.state === 'Dead') return E.COORDINATOR_NOT_AVAILABLE;
    if (group.isFenced(req.groupInstanceId, req.memberId)) return E.FENCED_INSTANCE_ID;
    if (req.generationId < 0 && group.state === 'Empty') return E.NONE;
    if (group.state === 'CompletingRebalance') return E.REBALANCE_IN_PROGRESS;
    const m = group.members.get(req.memberId);
    if (!m) return E.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return E.ILLEGAL_GENERATION;
    this.scheduleMemberExpiry(group, m);
    return E.NONE;
  }

  /** Forgets a group created by a failed first join. */
  private dropIfUnused(group: Group): void {
    if (group.state === 'Empty' && group.size === 0 && group.pendingMembers.size === 0 && !group.everHadMembers && !this.store.offsets(group.groupId)) {
      this.groups.delete(group.groupId);
    }
  }

  // ---- internals: join phase ----------------------------------------------------------------

  private joinUnknown(group: Group, req: JoinRequest): Promise<JoinResult> {
    const oldId = req.groupInstanceId === null ? undefined : group.staticMembers.get(req.groupInstanceId);
    if (!group.supportsProtocols(req.protocolType, req.protocols, oldId)) {
      this.dropIfUnused(group);
      return Promise.resolve(joinError(E.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    const memberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (oldId !== undefined) return this.replaceStaticMember(group, group.members.get(oldId)!, memberId, req);
    if (req.groupInstanceId === null && req.requireKnownMemberId) {
      // The client retries with this id; a join it never sends must not hold up the group.
      const timer = this.clock.schedule(req.sessionTimeoutMs, () => {
        if (group.pendingMembers.get(memberId) !== timer) return;
        group.pendingMembers.delete(memberId);
        this.tryCompleteJoin(group);
      });
      group.pendingMembers.set(memberId, timer);
      return Promise.resolve(joinError(E.MEMBER_ID_REQUIRED, memberId));
    }
    return this.addMemberAndRebalance(group, memberId, req);
  }

  private joinKnown(group: Group, req: JoinRequest): Promise<JoinResult> {
    const fail = (code: number): Promise<JoinResult> => Promise.resolve(joinError(code, req.memberId));
    const pending = group.pendingMembers.get(req.memberId);
    if (pending) {
      if (!group.supportsProtocols(req.protocolType, req.protocols)) return fail(E.INCONSISTENT_GROUP_PROTOCOL);
      pending.cancel();
      group.pendingMembers.delete(req.memberId);
      return this.addMemberAndRebalance(group, req.memberId, req);
    }
    if (group.isFenced(req.groupInstanceId, req.memberId)) return fail(E.FENCED_INSTANCE_ID);
    const m = group.members.get(req.memberId);
    if (!m) return fail(E.UNKNOWN_MEMBER_ID);
    if (!group.supportsProtocols(req.protocolType, req.protocols, m.memberId)) return fail(E.INCONSISTENT_GROUP_PROTOCOL);
    const unchanged = m.sameProtocols(req.protocolType, req.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, m, req);
      case 'CompletingRebalance':
        // A retried join of this generation gets the same answer again.
        if (unchanged) return Promise.resolve(this.currentJoinResult(group, m, false));
        return this.updateMemberAndRebalance(group, m, req);
      case 'Stable':
        if (m.memberId === group.leaderId || !unchanged) return this.updateMemberAndRebalance(group, m, req);
        this.scheduleMemberExpiry(group, m);
        return Promise.resolve(this.currentJoinResult(group, m, false));
      default:
        return fail(E.UNKNOWN_MEMBER_ID);
    }
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinRequest): Promise<JoinResult> {
    const m = new GroupMember(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.sessionTimeoutMs, req.rebalanceTimeoutMs, req.protocolType, req.protocols);
    m.isNew = true;
    if (group.state === 'PreparingRebalance' && group.initialJoinDelay) group.newMemberAdded = true;
    group.add(m);
    const p = this.awaitJoin(m);
    this.scheduleMemberExpiry(group, m);
    this.log?.debug({ groupId: group.groupId, memberId, reason: req.reason ?? undefined }, 'member joined');
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return p;
  }

  private updateMemberAndRebalance(group: Group, m: GroupMember, req: JoinRequest): Promise<JoinResult> {
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.protocolType = req.protocolType;
    m.protocols = req.protocols;
    const p = this.awaitJoin(m);
    this.scheduleMemberExpiry(group, m);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return p;
  }

  /** A known group.instance.id joined with no member id: the new member takes the old one's place. */
  private replaceStaticMember(group: Group, old: GroupMember, memberId: string, req: JoinRequest): Promise<JoinResult> {
    const changes = group.staticRejoinChanges(old, req.protocolType, req.protocols);
    old.expiry?.cancel();
    old.expiry = null;
    this.answerJoin(old, joinError(E.FENCED_INSTANCE_ID, old.memberId));
    this.answerSync(old, syncError(E.FENCED_INSTANCE_ID));
    const m = new GroupMember(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.sessionTimeoutMs, req.rebalanceTimeoutMs, req.protocolType, req.protocols);
    m.assignment = old.assignment;
    group.replace(old, m);
    this.scheduleMemberExpiry(group, m);
    this.log?.info({ groupId: group.groupId, groupInstanceId: req.groupInstanceId, oldMemberId: old.memberId, memberId }, 'static member replaced');
    if (group.state === 'Stable' && !changes) {
      // No rebalance: the member keeps its assignment. A leader is told to skip assigning.
      const leader = group.leaderId === memberId;
      return Promise.resolve(this.currentJoinResult(group, m, leader));
    }
    const p = this.awaitJoin(m);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return p;
  }

  private currentJoinResult(group: Group, m: GroupMember, skipAssignment: boolean): JoinResult {
    const leader = m.memberId === group.leaderId;
    return {
      errorCode: E.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: m.memberId,
      members: leader ? group.memberList() : [],
      skipAssignment,
    };
  }

  private awaitJoin(m: GroupMember): Promise<JoinResult> {
    // A newer join from the same member supersedes one still held.
    this.answerJoin(m, joinError(E.REBALANCE_IN_PROGRESS, m.memberId));
    return new Promise((resolve) => {
      m.awaitingJoin = resolve;
    });
  }

  private awaitSync(m: GroupMember): Promise<SyncResult> {
    this.answerSync(m, syncError(E.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      m.awaitingSync = resolve;
    });
  }

  private answerJoin(m: GroupMember, r: JoinResult): void {
    const cb = m.awaitingJoin;
    m.awaitingJoin = null;
    cb?.(r);
  }

  private answerSync(m: GroupMember, r: SyncResult): void {
    const cb = m.awaitingSync;
    m.awaitingSync = null;
    cb?.(r);
  }

  private maybePrepareRebalance(group: Group): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') this.prepareRebalance(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        m.assignment = EMPTY;
        this.answerSync(m, syncError(E.REBALANCE_IN_PROGRESS));
      }
    }
    this.endSyncPhase(group);
    const initial = group.state === 'Empty';
    group.transition('PreparingRebalance', this.clock.now());
    group.joinTimer?.cancel();
    group.joinTimer = null;
    const delay = this.o.groupInitialRebalanceDelayMs;
    if (initial && delay > 0) {
      group.initialJoinDelay = true;
      group.newMemberAdded = false;
      this.scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs() - delay, 0));
    } else {
      group.initialJoinDelay = false;
      this.scheduleJoinDeadline(group);
    }
    this.log?.debug({ groupId: group.groupId, generationId: group.generationId }, 'preparing rebalance');
  }

  /** A new group waits `delay`, then again (up to the rebalance timeout) while members keep arriving. */
  private scheduleInitialJoin(group: Group, delay: number, remaining: number): void {
    group.joinTimer = this.clock.schedule(delay, () => {
      group.joinTimer = null;
      if (group.newMemberAdded && remaining > 0) {
        group.newMemberAdded = false;
        const next = Math.min(delay, remaining);
        this.scheduleInitialJoin(group, next, remaining - next);
        return;
      }
      group.initialJoinDelay = false;
      this.completeJoin(group);
    });
  }

  private scheduleJoinDeadline(group: Group): void {
    group.joinTimer = this.clock.schedule(group.rebalanceTimeoutMs(), () => {
      group.joinTimer = null;
      this.completeJoin(group);
    });
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state === 'PreparingRebalance' && !group.initialJoinDelay && group.allMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    group.joinTimer?.cancel();
    group.joinTimer = null;
    // Dynamic members that did not rejoin in time are out; static ones keep their place
    // until their session expires.
    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        this.log?.info({ groupId: group.groupId, memberId: m.memberId }, 'member removed: did not rejoin in time');
        this.dropMember(group, m, E.UNKNOWN_MEMBER_ID);
      }
    }
    if (!group.electJoinedLeader() && group.size > 0) {
      // Only static members that have not rejoined are left: give them another round.
      this.scheduleJoinDeadline(group);
      return;
    }
    const now = this.clock.now();
    group.generationId++;
    if (group.size === 0) {
      group.protocolName = null;
      group.transition('Empty', now);
      this.log?.info({ groupId: group.groupId, generationId: group.generationId }, 'group is empty');
      return;
    }
    group.protocolName = group.selectProtocol();
    group.transition('CompletingRebalance', now);
    for (const m of group.members.values()) {
      const leader = m.memberId === group.leaderId;
      this.answerJoin(m, {
        errorCode: E.NONE,
        generationId: group.generationId,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        leader: group.leaderId!,
        memberId: m.memberId,
        members: leader ? group.memberList() : [],
        skipAssignment: false,
      });
      m.isNew = false;
      this.scheduleMemberExpiry(group, m);
    }
    this.startSyncPhase(group);
    this.log?.info({ groupId: group.groupId, generationId: group.generationId, members: group.size, protocol: group.protocolName }, 'join phase complete');
  }

  // ---- internals: sync phase ----------------------------------------------------------------

  /** Members that do not send SyncGroup within the rebalance timeout are removed. */
  private startSyncPhase(group: Group): void {
    this.endSyncPhase(group);
    for (const id of group.members.keys()) group.pendingSync.add(id);
    const generation = group.generationId;
    group.syncTimer = this.clock.schedule(group.rebalanceTimeoutMs(), () => {
      group.syncTimer = null;
      if (group.generationId !== generation || (group.state !== 'CompletingRebalance' && group.state !== 'Stable')) return;
      if (group.pendingSync.size === 0) return;
      for (const id of [...group.pendingSync]) {
        const m = group.members.get(id);
        if (m) {
          this.log?.info({ groupId: group.groupId, memberId: id }, 'member removed: no SyncGroup in time');
          this.dropMember(group, m, E.UNKNOWN_MEMBER_ID);
        }
      }
      this.prepareRebalance(group);
      this.tryCompleteJoin(group);
    });
  }

  private endSyncPhase(group: Group): void {
    group.syncTimer?.cancel();
    group.syncTimer = null;
    group.pendingSync.clear();
  }

  private syncReceived(group: Group, memberId: string): void {
    group.pendingSync.delete(memberId);
    if (group.pendingSync.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = null;
    }
  }

  private completeSync(group: Group, assignments: SyncRequest['assignments']): void {
    const byId = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of group.members.values()) m.assignment = byId.get(m.memberId) ?? EMPTY;
    group.transition('Stable', this.clock.now());
    for (const m of group.members.values()) {
      this.answerSync(m, { errorCode: E.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
    }
    this.log?.info({ groupId: group.groupId, generationId: group.generationId }, 'group stable');
  }

  // ---- internals: leaving and expiry --------------------------------------------------------

  private leaveOne(group: Group, l: LeavingMember): number {
    let m: GroupMember | undefined;
    if (l.groupInstanceId !== null) {
      const owner = group.staticMembers.get(l.groupInstanceId);
      if (owner === undefined) return E.UNKNOWN_MEMBER_ID;
      if (l.memberId !== '' && l.memberId !== owner) return E.FENCED_INSTANCE_ID;
      m = group.members.get(owner);
    } else {
      const pending = group.pendingMembers.get(l.memberId);
      if (pending) {
        pending.cancel();
        group.pendingMembers.delete(l.memberId);
        this.tryCompleteJoin(group);
        return E.NONE;
      }
      m = group.members.get(l.memberId);
    }
    if (!m) return E.UNKNOWN_MEMBER_ID;
    this.log?.info({ groupId: group.groupId, memberId: m.memberId, reason: l.reason ?? undefined }, 'member left');
    this.removeMemberAndUpdate(group, m);
    return E.NONE;
  }

  private scheduleMemberExpiry(group: Group, m: GroupMember): void {
    m.expiry?.cancel();
    const timeout = m.isNew ? this.o.newMemberJoinTimeoutMs : m.sessionTimeoutMs;
    m.expiry = this.clock.schedule(timeout, () => {
      m.expiry = null;
      if (group.members.get(m.memberId) !== m) return;
      // A member held in a join or sync phase cannot heartbeat; its wait counts as liveness.
      if (!m.isNew && (m.awaitingJoin || m.awaitingSync)) {
        this.scheduleMemberExpiry(group, m);
        return;
      }
      this.log?.info({ groupId: group.groupId, memberId: m.memberId, isNew: m.isNew }, 'member session expired');
      this.removeMemberAndUpdate(group, m);
    });
  }

  private removeMemberAndUpdate(group: Group, m: GroupMember): void {
    this.dropMember(group, m, E.UNKNOWN_MEMBER_ID);
    switch (group.state) {
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group);
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  private dropMember(group: Group, m: GroupMember, code: number): void {
    m.expiry?.cancel();
    m.expiry = null;
    this.answerJoin(m, joinError(code, m.memberId));
    this.answerSync(m, syncError(code));
    group.remove(m.memberId);
  }

  /** Stops every timer of the group and answers its held requests with `code`. */
  private unload(group: Group, code: number): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    this.endSyncPhase(group);
    for (const t of group.pendingMembers.values()) t.cancel();
    group.pendingMembers.clear();
    for (const m of group.members.values()) {
      m.expiry?.cancel();
      m.expiry = null;
      this.answerJoin(m, joinError(code, m.memberId));
      this.answerSync(m, syncError(code));
    }
  }

  private scheduleOffsetCleanup(): void {
    if (this.closed) return;
    this.cleanupTimer = this.clock.schedule(this.o.offsetsRetentionCheckIntervalMs, () => {
      this.expireOffsets()
        .catch((err: unknown) => this.log?.error({ err }, 'offset expiry failed'))
        .finally(() => this.scheduleOffsetCleanup());
    });
  }
}
