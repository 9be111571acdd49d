// One REST-proxy-style consumer: an in-process member of a classic consumer group. It joins
// through the GroupCoordinator's API directly (no TCP), runs the assignor when it is the leader,
// heartbeats on a timer and tracks its own fetch positions.
import type { Broker } from '../../../broker/core/broker.js';
import { ErrorCode, errorName } from '../../../broker/protocol/generated/error-codes.js';
import type { Record as KafkaRecord } from '../../../broker/protocol/records/records.js';
import type { JoinResult } from '../../../broker/groups/group-types.js';
import { HttpError, kafkaError } from '../errors.js';
import { readFrom } from '../read.js';
import type { RecordFormat } from '../record-format.js';
import { ASSIGNORS } from './assignors.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type Assignment } from './consumer-protocol.js';

const E = ErrorCode;

export interface ConsumerSettings {
  format: RecordFormat;
  autoOffsetReset: 'earliest' | 'latest';
  autoCommit: boolean;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface PolledRecord {
  topic: string;
  partition: number;
  record: KafkaRecord;
}

type State = 'idle' | 'joining' | 'stable' | 'closed';

const key = (t: string, p: number): string => `${t}\u0000${p}`;

export class ConsumerInstance {
  memberId = '';
  generationId = -1;
  lastUsed = Date.now();
  private state: State = 'idle';
  private topics: string[] = [];
  private assignment: Assignment = new Map();
  private readonly positions = new Map<string, number>();
  private joining: Promise<void> | null = null;
  /** Bumped by every (re)join; an older join loop that sees a newer one stops. */
  private joinSeq = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastError: { code: number; message: string } | null = null;
  /** Polls and commits of one instance run one at a time: positions are shared. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly groupId: string,
    readonly settings: ConsumerSettings,
    private readonly broker: Broker,
    private readonly clientHost: string,
  ) {}

  get subscription(): string[] {
    return [...this.topics];
  }

  get assigned(): Array<{ topic: string; partition: number }> {
    return [...this.assignment].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
  }

  get isStable(): boolean {
    return this.state === 'stable';
  }

  subscribe(topics: string[]): void {
    this.touch();
    this.topics = [...new Set(topics)].sort();
    this.startJoin();
  }

  poll(timeoutMs: number, maxBytes: number, maxRecords: number): Promise<PolledRecord[]> {
    this.touch();
    return this.serial(() => this.doPoll(timeoutMs, maxBytes, maxRecords));
  }

  /** Commits the given offsets, or every current position when none are given. */
  commit(offsets?: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    this.touch();
    return this.serial(() => this.doCommit(offsets));
  }

  positionsView(): Array<{ topic: string; partition: number; offset: number }> {
    return this.assigned.flatMap(({ topic, partition }) => {
      const o = this.positions.get(key(topic, partition));
      return o === undefined ? [] : [{ topic, partition, offset: o }];
    });
  }

  /** Commits (if auto-commit) and leaves the group. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    await this.chain.catch(() => undefined);
    if (this.settings.autoCommit && this.state === 'stable') await this.doCommit().catch(() => undefined);
    this.state = 'closed';
    this.stopHeartbeat();
    if (this.memberId !== '') this.broker.groups.leave(this.groupId, [{ memberId: this.memberId, groupInstanceId: null, reason: 'HTTP consumer instance deleted' }]);
  }

  private touch(): void {
    this.lastUsed = Date.now();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private startJoin(): void {
    if (this.state === 'closed') return;
    this.stopHeartbeat();
    this.state = 'joining';
    const seq = ++this.joinSeq;
    const p = this.joinLoop(seq).catch((err: unknown) => {
      this.lastError = err instanceof HttpError ? { code: E.UNKNOWN_SERVER_ERROR, message: err.message } : { code: E.UNKNOWN_SERVER_ERROR, message: String(err) };
      if (this.current(seq)) this.state = 'idle';
    });
    this.joining = p;
  }

  private current(seq: number): boolean {
    return this.state === 'joining' && seq === this.joinSeq;
  }

  private async joinLoop(seq: number): Promise<void> {
    const coord = this.broker.groups;
    for (let attempt = 0; this.current(seq); attempt++) {
      const topics = this.topics;
      const meta = encodeSubscription(topics);
      const res: JoinResult = await coord.join({
        groupId: this.groupId,
        memberId: this.memberId,
        groupInstanceId: null,
        clientId: `floe-http-${this.id}`,
        clientHost: this.clientHost,
        sessionTimeoutMs: this.settings.sessionTimeoutMs,
        rebalanceTimeoutMs: this.settings.rebalanceTimeoutMs,
        protocolType: 'consumer',
        protocols: Object.keys(ASSIGNORS).map((name) => ({ name, metadata: meta })),
        requireKnownMemberId: false,
      });
      if (!this.current(seq)) return;
      if (res.errorCode !== E.NONE) {
        if (res.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
        if (!retriable(res.errorCode) || attempt > 50) {
          this.lastError = { code: res.errorCode, message: `join failed: ${errorName(res.errorCode)}` };
          this.state = 'idle';
          return;
        }
        continue;
      }
      this.memberId = res.memberId;
      this.generationId = res.generationId;
      const assignments = res.leader === res.memberId ? this.assign(res) : [];
      const sync = await coord.sync({
        groupId: this.groupId,
        generationId: res.generationId,
        memberId: res.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: res.protocolName,
        assignments,
      });
      if (!this.current(seq)) return;
      if (sync.errorCode !== E.NONE) {
        if (sync.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
        if (!retriable(sync.errorCode)) {
          this.lastError = { code: sync.errorCode, message: `sync failed: ${errorName(sync.errorCode)}` };
          this.state = 'idle';
          return;
        }
        continue;
      }
      this.assignment = decodeAssignment(sync.assignment);
      for (const k of [...this.positions.keys()]) {
        const [t, p] = k.split('\u0000') as [string, string];
        if (!this.assignment.get(t)?.includes(Number(p))) this.positions.delete(k);
      }
      this.lastError = null;
      this.state = 'stable';
      this.startHeartbeat();
      return;
    }
  }

  private assign(res: JoinResult): Array<{ memberId: string; assignment: Buffer }> {
    const assignor = ASSIGNORS[res.protocolName ?? ''] ?? ASSIGNORS.range!;
    const members = res.members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata) ?? [] }));
    const plan = assignor(members, (t) => this.broker.topics.get(t)?.partitions);
    return [...plan].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }));
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.beat(), this.settings.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private beat(): void {
    if (this.state !== 'stable') return;
    const code = this.broker.groups.heartbeat({ groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
    if (code === E.NONE) return;
    if (code === E.REBALANCE_IN_PROGRESS) {
      // Positions consumed so far are committed before giving the partitions up.
      const pre = this.settings.autoCommit ? this.serial(() => this.doCommit()).catch(() => undefined) : Promise.resolve();
      void pre.then(() => this.startJoin());
      this.stopHeartbeat();
      return;
    }
    if (code === E.UNKNOWN_MEMBER_ID) this.memberId = '';
    if (code === E.UNKNOWN_MEMBER_ID || code === E.ILLEGAL_GENERATION) {
      this.startJoin();
      return;
    }
    // Coordinator gone (shutdown): stop quietly.
    this.stopHeartbeat();
    this.lastError = { code, message: `heartbeat failed: ${errorName(code)}` };
    this.state = 'idle';
  }

  private async waitStable(timeoutMs: number): Promise<boolean> {
    if (this.state === 'stable') return true;
    if (this.state === 'idle' && this.topics.length === 0) throw new HttpError(409, 409, 'consumer instance has no subscription; POST .../subscription first');
    if (this.state === 'idle' && this.lastError) throw kafkaError(this.lastError.code, this.lastError.message);
    const joining = this.joining;
    if (!joining) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([joining, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.isStable;
  }

  private async position(topic: string, partition: number): Promise<number | null> {
    const k = key(topic, partition);
    const known = this.positions.get(k);
    if (known !== undefined) return known;
    const log = this.broker.topics.partition(topic, partition);
    if (!log) return null;
    const fetched = this.broker.groups.fetchOffsets(this.groupId, [{ name: topic, partitions: [partition] }]);
    const committed = fetched.topics[0]?.partitions[0]?.committedOffset ?? -1;
    const pos = committed >= log.logStartOffset && committed <= log.logEndOffset ? committed : this.resetOffset(topic, partition);
    this.positions.set(k, pos);
    return pos;
  }

  private resetOffset(topic: string, partition: number): number {
    const log = this.broker.topics.partition(topic, partition)!;
    return this.settings.autoOffsetReset === 'earliest' ? log.logStartOffset : log.highWatermark;
  }

  private async doPoll(timeoutMs: number, maxBytes: number, maxRecords: number): Promise<PolledRecord[]> {
    const deadline = Date.now() + timeoutMs;
    if (!(await this.waitStable(timeoutMs))) return [];
    if (this.settings.autoCommit) await this.doCommit().catch(() => undefined);
    let out = await this.fetchOnce(maxBytes, maxRecords);
    while (out.length === 0 && this.state === 'stable') {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.waitForData(left);
      out = await this.fetchOnce(maxBytes, maxRecords);
    }
    return out;
  }

  private async fetchOnce(maxBytes: number, maxRecords: number): Promise<PolledRecord[]> {
    const out: PolledRecord[] = [];
    let bytes = 0;
    for (const { topic, partition } of this.assigned) {
      if (out.length >= maxRecords || bytes >= maxBytes) break;
      const log = this.broker.topics.partition(topic, partition);
      let pos = await this.position(topic, partition);
      if (!log || pos === null || pos >= log.highWatermark) continue;
      if (pos < log.logStartOffset) pos = this.resetOffset(topic, partition);
      const r = await readFrom(log, pos, maxBytes - bytes, maxRecords - out.length);
      bytes += r.bytes;
      if (r.bytes > 0) this.broker.metrics.bytesOut.inc({ topic, partition }, r.bytes);
      for (const record of r.records) out.push({ topic, partition, record });
      this.positions.set(key(topic, partition), r.nextOffset);
    }
    return out;
  }

  private waitForData(ms: number): Promise<void> {
    const logs = this.assigned.flatMap(({ topic, partition }) => {
      const l = this.broker.topics.partition(topic, partition);
      return l ? [l] : [];
    });
    return new Promise((resolve) => {
      const offs: Array<() => void> = [];
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(watch);
        for (const off of offs) off();
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A rebalance changes what to read: stop waiting.
      const watch = setInterval(() => this.state !== 'stable' && done(), 100);
      for (const l of logs) offs.push(l.onAdvance(done));
    });
  }

  private async doCommit(offsets?: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const list = offsets ?? this.positionsView();
    if (list.length === 0) return;
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>>();
    for (const o of list) {
      let ps = byTopic.get(o.topic);
      if (!ps) byTopic.set(o.topic, (ps = []));
      ps.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null });
    }
    const res = await this.broker.groups.commitOffsets({
      groupId: this.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res) for (const p of t.partitions) if (p.errorCode !== E.NONE) throw kafkaError(p.errorCode, `commit of ${t.name}/${p.partitionIndex} failed: ${errorName(p.errorCode)}`);
  }
}

function retriable(code: number): boolean {
  return code === E.UNKNOWN_MEMBER_ID || code === E.REBALANCE_IN_PROGRESS || code === E.ILLEGAL_GENERATION || code === E.MEMBER_ID_REQUIRED;
}
