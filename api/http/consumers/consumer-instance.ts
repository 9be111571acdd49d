// One REST-proxy-style consumer: a member of a classic consumer group. It reaches the group's
// coordinator through a GroupTransport (in-process on a single node, the Kafka wire in a cluster
// where another broker may hold the group), runs the assignor when it is the leader, heartbeats
// on a timer and tracks its own fetch positions. Partitions are read through broker.router, so
// ones led by another broker come from the shared medium.
import type { Broker } from '../../../broker/core/broker.js';
import { ErrorCode, errorName } from '../../../broker/protocol/generated/error-codes.js';
import type { Record as KafkaRecord } from '../../../broker/protocol/records/records.js';
import type { JoinResult } from '../../../broker/groups/group-types.js';
import { COORDINATOR_MOVED, type GroupTransport } from '../../../broker/client/group/transport.js';
import { HttpError, kafkaError } from '../errors.js';
import { readFrom, type ReadableLog } from '../read.js';
import type { RecordFormat } from '../record-format.js';
import { ASSIGNORS } from '../../../broker/client/group/assignors.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type Assignment } from '../../../broker/protocol/consumer/consumer-protocol.js';

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
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Join attempts before giving up; with the coordinator backoff this spans about a minute. */
const MAX_JOIN_ATTEMPTS = 60;
const COMMIT_ATTEMPTS = 4;

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
  private beating = false;
  /** When the coordinator last accepted a heartbeat (or the join completed). */
  private lastBeatOk = 0;
  private lastError: { code: number; message: string } | null = null;
  /** Polls and commits of one instance run one at a time: positions are shared. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly groupId: string,
    readonly settings: ConsumerSettings,
    private readonly broker: Broker,
    private readonly clientHost: string,
    private readonly transport: GroupTransport,
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
    const wasJoining = this.state === 'joining';
    this.state = 'closed';
    this.stopHeartbeat();
    try {
      // A join the coordinator holds would delay the leave behind it on the same connection.
      if (wasJoining) await this.transport.abort();
      if (this.memberId !== '') await this.transport.leave(this.groupId, this.memberId, 'HTTP consumer instance deleted').catch(() => undefined);
    } finally {
      await this.transport.close().catch(() => undefined);
    }
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
    let backoff = 100;
    for (let attempt = 0; this.current(seq); attempt++) {
      if (attempt >= MAX_JOIN_ATTEMPTS) {
        this.lastError ??= { code: E.COORDINATOR_NOT_AVAILABLE, message: 'join failed: gave up retrying' };
        this.state = 'idle';
        return;
      }
      const topics = this.topics;
      const meta = encodeSubscription(topics);
      const res: JoinResult = await this.transport.join({
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
        // JoinGroup v4+ over the wire hands out the member id first; join again with it.
        if (res.errorCode === E.MEMBER_ID_REQUIRED) this.memberId = res.memberId;
        if (res.errorCode === E.UNKNOWN_MEMBER_ID) this.memberId = '';
        if (COORDINATOR_MOVED.has(res.errorCode)) {
          // The group's lease is moving between brokers: look the coordinator up again shortly.
          this.lastError = { code: res.errorCode, message: `join failed: ${errorName(res.errorCode)}` };
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 1_000);
          continue;
        }
        if (!retriable(res.errorCode)) {
          this.lastError = { code: res.errorCode, message: `join failed: ${errorName(res.errorCode)}` };
          this.state = 'idle';
          return;
        }
        continue;
      }
      this.memberId = res.memberId;
      this.generationId = res.generationId;
      const assignments = res.leader === res.memberId ? await this.assign(res) : [];
      if (!this.current(seq)) return;
      const sync = await this.transport.sync({
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
        if (COORDINATOR_MOVED.has(sync.errorCode)) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 1_000);
          continue;
        }
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
      this.lastBeatOk = Date.now();
      this.startHeartbeat();
      return;
    }
  }

  private async assign(res: JoinResult): Promise<Array<{ memberId: string; assignment: Buffer }>> {
    const assignor = ASSIGNORS[res.protocolName ?? ''] ?? ASSIGNORS.range!;
    const members = res.members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata) ?? [] }));
    // A topic created through another broker may not have reached this one's topic list yet.
    const wanted = new Set(members.flatMap((m) => m.topics));
    if (this.broker.cluster !== null && [...wanted].some((t) => !this.broker.topics.get(t))) await this.broker.store.refresh().catch(() => undefined);
    const plan = assignor(members, (t) => this.broker.topics.get(t)?.partitions);
    return [...plan].map(([memberId, a]) => ({ memberId, assignment: encodeAssignment(a) }));
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => void this.beat(), this.settings.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async beat(): Promise<void> {
    if (this.state !== 'stable' || this.beating) return;
    this.beating = true;
    const seq = this.joinSeq;
    let code: number;
    try {
      code = await this.transport.heartbeat({ groupId: this.groupId, generationId: this.generationId, memberId: this.memberId });
    } catch {
      code = E.COORDINATOR_NOT_AVAILABLE;
    } finally {
      this.beating = false;
    }
    // A rejoin or close happened meanwhile: this answer is about an older generation.
    if (this.state !== 'stable' || seq !== this.joinSeq) return;
    if (code === E.NONE) {
      this.lastBeatOk = Date.now();
      return;
    }
    if (code === E.REBALANCE_IN_PROGRESS) {
      // Positions consumed so far are committed before giving the partitions up.
      this.stopHeartbeat();
      const pre = this.settings.autoCommit ? this.serial(() => this.doCommit()).catch(() => undefined) : Promise.resolve();
      void pre.then(() => this.startJoin());
      return;
    }
    if (code === E.UNKNOWN_MEMBER_ID) this.memberId = '';
    if (code === E.UNKNOWN_MEMBER_ID || code === E.ILLEGAL_GENERATION) {
      this.startJoin();
      return;
    }
    if (COORDINATOR_MOVED.has(code)) {
      // The coordinator is moving (or restarting): keep beating at the new one; once the
      // session has surely expired there, join again instead.
      if (Date.now() - this.lastBeatOk > this.settings.sessionTimeoutMs) this.startJoin();
      return;
    }
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

  /** The partition wherever it is led; undefined until some broker has started it. */
  private view(topic: string, partition: number): Promise<ReadableLog | undefined> {
    return this.broker.router.view(topic, partition);
  }

  /** Where to read next: the last position, else the committed offset, else the reset policy. null = not now. */
  private async position(topic: string, partition: number, log: ReadableLog): Promise<number | null> {
    const k = key(topic, partition);
    const known = this.positions.get(k);
    if (known !== undefined) return known;
    const fetched = await this.transport.fetch(this.groupId, [{ name: topic, partitions: [partition] }]);
    // The coordinator is moving: try again on the next poll rather than guess a position.
    if (COORDINATOR_MOVED.has(fetched.errorCode)) return null;
    if (fetched.errorCode !== E.NONE) throw kafkaError(fetched.errorCode, `offset fetch for ${topic}/${partition} failed: ${errorName(fetched.errorCode)}`);
    const committed = fetched.offsets.get(`${topic}/${partition}`) ?? -1;
    // A view of a partition led elsewhere has no known end (its leader may be ahead of what was heard here).
    const end = log.logEndOffset ?? log.highWatermark;
    const pos = committed >= (log.logStartOffset ?? 0) && committed <= end ? committed : this.resetOffset(log);
    this.positions.set(k, pos);
    return pos;
  }

  private resetOffset(log: ReadableLog): number {
    return this.settings.autoOffsetReset === 'earliest' ? (log.logStartOffset ?? 0) : log.highWatermark;
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
      const log = await this.view(topic, partition);
      if (!log) continue;
      let pos = await this.position(topic, partition, log);
      if (pos === null || pos >= log.highWatermark) continue;
      if (pos < (log.logStartOffset ?? 0)) pos = this.resetOffset(log);
      const r = await readFrom(log, pos, maxBytes - bytes, maxRecords - out.length);
      bytes += r.bytes;
      if (r.bytes > 0) this.broker.metrics.bytesOut.inc({ topic, partition }, r.bytes);
      for (const record of r.records) out.push({ topic, partition, record });
      this.positions.set(key(topic, partition), r.nextOffset);
    }
    return out;
  }

  private async waitForData(ms: number): Promise<void> {
    const logs: ReadableLog[] = [];
    for (const { topic, partition } of this.assigned) {
      const l = await this.view(topic, partition).catch(() => undefined);
      if (l) logs.push(l);
    }
    return new Promise((resolve) => {
      const offs: Array<() => void> = [];
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(watch);
        for (const off of offs) off();
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A rebalance changes what to read, and a partition nobody led yet may start: look again.
      const started = logs.length;
      const watch = setInterval(() => (this.state !== 'stable' || started < this.assigned.length) && done(), 100);
      for (const l of logs) offs.push(l.onAdvance(done));
    });
  }

  private async doCommit(offsets?: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const list = offsets ?? this.positionsView();
    if (list.length === 0) return;
    const ref = { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId };
    const toCommit = list.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: -1 }));
    let code: number = E.NONE;
    // A coordinator move is retried briefly (the transport finds the new one); the rest is the caller's.
    for (let attempt = 0, backoff = 200; attempt < COMMIT_ATTEMPTS; attempt++, backoff *= 2) {
      code = await this.transport.commit(ref, toCommit);
      if (!COORDINATOR_MOVED.has(code)) break;
      if (attempt + 1 < COMMIT_ATTEMPTS) await sleep(backoff);
    }
    if (code !== E.NONE) throw kafkaError(code, `commit for group '${this.groupId}' failed: ${errorName(code)}`);
  }
}

function retriable(code: number): boolean {
  return code === E.UNKNOWN_MEMBER_ID || code === E.REBALANCE_IN_PROGRESS || code === E.ILLEGAL_GENERATION || code === E.MEMBER_ID_REQUIRED;
}
