// One deployed function version running on this node: a group member, a worker pool, and one
// sequential loop per assigned partition (which is what keeps key order within a partition).
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import { ErrorCode as E } from '../broker/protocol/generated/error-codes.js';
import { decodeBatches } from '../broker/protocol/records/records.js';
import type { Table } from '../vector/index.js';
import { GroupMember, type TopicPartition } from '../broker/client/group/member.js';
import type { GroupTransport } from '../broker/client/group/transport.js';
import type { PartitionAccess, PartitionView } from './partition-access.js';
import type { LogBuffer } from './log-buffer.js';
import { OutputWriter, type OutputRecord } from './output-writer.js';
import { FunctionPool, TimeoutError } from './pool.js';
import { dlqTopicOf, groupIdOf, type FunctionRecord, type VersionSpec } from './spec.js';
import { PartitionStats, type PartitionStatus } from './stats.js';
import type { Effects, FnIdentity, ModuleRef, ProbeResult, SearchCall, TableWrite, WireRecord } from './worker-protocol.js';

/** The table store as the runtime needs it (TableStore or the node's table service). */
export interface TableProvider {
  get(name: string): Promise<Table>;
  create(schema: unknown): Promise<Table>;
}

export interface InstanceHost {
  broker: Broker;
  tables: TableProvider;
  log: Logger;
  clientId: string;
  artifactPath(name: string, file: string): string;
  /** Input reads and output appends (through the cluster router when there is one). */
  partitions: PartitionAccess;
  /** A fresh connection to the group coordinator, one per instance (closed on stop). */
  groupTransport(): GroupTransport;
  /** Shorter timings for tests. */
  heartbeatMs?: number;
  sessionTimeoutMs?: number;
}

export type InstanceState = 'starting' | 'running' | 'failed' | 'stopped';

const READ_BYTES = 1024 * 1024;
/** How long a transient output failure (leader moving) is retried before the batch is redone. */
const OUTPUT_RETRY_MS = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The runner was stopped while waiting: the batch is left to the partition's next owner. */
class StoppedError extends Error {}

const PERMANENT_APPEND = new Set<string | number>(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'CORRUPT_MESSAGE', 'INVALID_RECORD', E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE, E.CORRUPT_MESSAGE, E.INVALID_RECORD]);

/** Output errors that retrying cannot fix (the record itself is at fault). */
function isPermanentAppendError(err: unknown): boolean {
  const e = err as { code?: unknown; errorCode?: unknown };
  return PERMANENT_APPEND.has(e.code as string) || PERMANENT_APPEND.has(e.errorCode as number);
}

export class FunctionInstance {
  state: InstanceState = 'starting';
  failure: string | null = null;
  readonly spec: VersionSpec;
  private pool: FunctionPool | null = null;
  private member: GroupMember | null = null;
  private transport: GroupTransport | null = null;
  private readonly runners = new Map<string, PartitionRunner>();
  readonly stats = new Map<string, PartitionStats>();
  readonly counters: Record<string, number> = {};
  readonly gauges: Record<string, number> = {};
  readonly output: OutputWriter;
  probe: ProbeResult | null = null;
  private stopping = false;

  constructor(
    readonly host: InstanceHost,
    readonly record: FunctionRecord,
    readonly logs: LogBuffer,
  ) {
    const v = record.versions.find((x) => x.version === record.active);
    if (!v) throw new Error(`function ${record.name} has no version ${record.active}`);
    this.spec = v;
    this.output = new OutputWriter(host.broker, host.partitions);
  }

  get name(): string {
    return this.record.name;
  }

  get identity(): FnIdentity {
    const s = this.spec;
    return { name: this.name, version: s.version, inputs: s.inputs, outputs: s.outputs, table: s.table, vars: s.vars };
  }

  get module(): ModuleRef {
    const a = this.spec.artifact;
    return a.kind === 'builtin' ? { kind: 'builtin', name: a.name } : { kind: 'file', path: this.host.artifactPath(this.name, a.file) };
  }

  runtimeLog(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.logs.push({ level, msg, time: Date.now(), version: this.spec.version, source: 'runtime', ...(fields ? { fields } : {}) });
    this.host.log[level]({ fn: this.name, version: this.spec.version, ...fields }, msg);
  }

  /** prepare() then join(); failures leave state 'failed' with the reason. */
  async start(): Promise<void> {
    if (await this.prepare()) this.join();
  }

  /** Loads the module once (startup limit), creates its table and topics. */
  async prepare(): Promise<boolean> {
    const s = this.spec;
    try {
      this.pool = await FunctionPool.create({
        threads: s.parallelism,
        memoryMb: s.limits.memoryMb,
        startupTimeoutMs: s.limits.startupTimeoutMs,
        onError: (err) => this.runtimeLog('error', `worker error: ${err.message}`),
      });
      this.probe = await this.pool.probe(this.module, this.identity, s.limits.startupTimeoutMs);
      if (s.table !== null && this.probe.tableSpec !== null) await this.ensureTable(s.table, this.probe.tableSpec);
      for (const t of s.inputs) await this.output.ensureTopic(t);
      for (const t of s.outputs) await this.output.ensureTopic(t);
    } catch (err) {
      this.state = 'failed';
      this.failure = (err as Error).message;
      this.runtimeLog('error', `startup failed: ${this.failure}`);
      await this.pool?.close(this.identity).catch(() => undefined);
      this.pool = null;
      return false;
    }
    return true;
  }

  /** Becomes a member of the function's consumer group; partitions follow. */
  join(): void {
    if (this.stopping) return;
    const s = this.spec;
    this.transport = this.host.groupTransport();
    this.member = new GroupMember(
      this.transport,
      {
        groupId: groupIdOf(this.name),
        topics: s.inputs,
        clientId: this.host.clientId,
        partitionCount: (t) => this.host.broker.topics.get(t)?.partitions,
        ...(this.host.heartbeatMs !== undefined ? { heartbeatMs: this.host.heartbeatMs } : {}),
        ...(this.host.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: this.host.sessionTimeoutMs } : {}),
      },
      {
        assigned: (parts) => this.assign(parts),
        revoke: () => this.revokeAll(),
        error: (err) => this.runtimeLog('warn', `group membership: ${err.message}`),
      },
    );
    this.state = 'running';
    this.member.start();
    this.runtimeLog('info', `started v${s.version}`, { inputs: s.inputs, parallelism: s.parallelism });
  }

  private async ensureTable(name: string, spec: unknown): Promise<void> {
    try {
      await this.host.tables.get(name);
    } catch (err) {
      if ((err as { code?: string }).code !== 'TABLE_NOT_FOUND') throw err;
      await this.host.tables.create({ ...(spec as object), name });
      this.runtimeLog('info', `created table ${name}`);
    }
  }

  private assign(parts: TopicPartition[]): void {
    this.runtimeLog('info', `assigned ${parts.length} partition(s)`, { partitions: parts.map((p) => `${p.topic}/${p.partition}`) });
    for (const p of parts) {
      const k = `${p.topic}/${p.partition}`;
      let st = this.stats.get(k);
      if (!st) {
        st = new PartitionStats(p.topic, p.partition);
        this.stats.set(k, st);
      }
      const r = new PartitionRunner(this, p, st);
      this.runners.set(k, r);
      r.start();
    }
  }

  private async revokeAll(): Promise<void> {
    const rs = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(rs.map((r) => r.stop()));
  }

  assignedPartitions(): string[] {
    return [...this.runners.keys()];
  }

  commit(topic: string, partition: number, offset: number): Promise<number> {
    return this.member!.commit([{ topic, partition, offset, leaderEpoch: this.host.partitions.leaderEpoch(topic, partition) }]);
  }

  committed(topic: string, partition: number): Promise<number> {
    return this.member!.committed(topic, partition);
  }

  async runBatch(records: WireRecord[]): Promise<Effects> {
    const pool = this.pool;
    if (!pool) throw new Error('function is not running');
    const l = this.spec.limits;
    const timeout = Math.min(l.batchTimeoutMaxMs, l.recordTimeoutMs * records.length);
    return pool.run(this.module, this.identity, records, timeout, (call) => this.search(call));
  }

  private async search(call: SearchCall): Promise<unknown[]> {
    const name = call.table ?? this.spec.table;
    if (!name) throw new Error('ctx.search: no table given and none deployed');
    const t = await this.host.tables.get(name);
    const q = call.query;
    const hits = await t.search({
      ...(q.vector !== undefined ? { vector: q.vector } : {}),
      ...(q.text !== undefined ? { text: q.text } : {}),
      ...(q.column !== undefined ? { column: q.column } : {}),
      ...(q.filter !== undefined ? { filter: q.filter as never } : {}),
      k: q.k ?? 10,
    });
    return hits;
  }

  /** Table writes (idempotent upserts/deletes); a failure here is the function's. */
  async applyTables(effects: Effects): Promise<void> {
    for (const w of coalesce(effects.writes)) {
      const name = w.table ?? this.spec.table;
      if (!name) throw new Error('ctx.upsert/delete: no table given and none deployed');
      const t = await this.host.tables.get(name);
      if (w.op === 'upsert') await t.upsert(w.rows);
      else await t.delete(w.keys);
    }
  }

  /** Appends the emitted records, then takes the batch's counters, gauges and logs. */
  async emit(effects: Effects): Promise<void> {
    const byTopic = new Map<string, OutputRecord[]>();
    for (const e of effects.emits) {
      const topic = e.topic ?? this.spec.outputs[0]!;
      const list = byTopic.get(topic) ?? [];
      list.push({ key: buf(e.key), value: buf(e.value), headers: e.headers.map((h) => ({ key: h.key, value: buf(h.value) })), timestamp: e.timestamp });
      byTopic.set(topic, list);
    }
    for (const [topic, list] of byTopic) await this.output.write(topic, list);
    for (const [k, v] of Object.entries(effects.counters)) this.counters[k] = (this.counters[k] ?? 0) + v;
    Object.assign(this.gauges, effects.gauges);
    for (const l of effects.logs) this.logs.push({ ...l, version: this.spec.version, source: 'fn' });
  }

  async deadLetter(r: WireRecord, err: Error, attempts: number): Promise<void> {
    const h = (k: string, v: string): { key: string; value: Buffer } => ({ key: k, value: Buffer.from(v, 'utf8') });
    await this.output.write(dlqTopicOf(this.name), [
      {
        key: buf(r.key),
        value: buf(r.value),
        headers: [
          ...r.headers.map((x) => ({ key: x.key, value: buf(x.value) })),
          h('floe.error', err.message.slice(0, 4096)),
          h('floe.error.type', err instanceof TimeoutError ? 'timeout' : err.name || 'Error'),
          h('floe.attempts', String(attempts)),
          h('floe.source.topic', r.topic),
          h('floe.source.partition', String(r.partition)),
          h('floe.source.offset', String(r.offset)),
          h('floe.function', `${this.name}@v${this.spec.version}`),
        ],
        timestamp: r.timestamp,
      },
    ]);
  }

  status(): PartitionStatus[] {
    return [...this.stats.values()]
      .filter((s) => this.runners.has(`${s.topic}/${s.partition}`))
      .map((s) => s.snapshot(this.runners.get(`${s.topic}/${s.partition}`)?.highWatermark ?? 0));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.member) await this.member.stop();
    else await this.revokeAll();
    this.member = null;
    await this.transport?.close().catch(() => undefined);
    this.transport = null;
    if (this.pool) await this.pool.close(this.identity);
    this.pool = null;
    if (this.state !== 'failed') this.state = 'stopped';
  }
}

/** Merges runs of upserts (or deletes) into one table call each; order between runs is kept. */
function coalesce(writes: TableWrite[]): TableWrite[] {
  const out: TableWrite[] = [];
  for (const w of writes) {
    const prev = out[out.length - 1];
    if (prev && prev.op === w.op && prev.table === w.table) {
      if (prev.op === 'upsert' && w.op === 'upsert') prev.rows = [...prev.rows, ...w.rows];
      else if (prev.op === 'delete' && w.op === 'delete') prev.keys = [...prev.keys, ...w.keys];
    } else out.push(w.op === 'upsert' ? { ...w, rows: [...w.rows] } : { ...w, keys: [...w.keys] });
  }
  return out;
}

function buf(u: Uint8Array | null): Buffer | null {
  return u === null ? null : Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Reads one partition in order, runs batches with retries, dead-letters, commits. */
class PartitionRunner {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private view: PartitionView | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Last high watermark seen (for status; the partition may be led elsewhere). */
  highWatermark = 0;

  constructor(
    private readonly fn: FunctionInstance,
    private readonly tp: TopicPartition,
    private readonly stats: PartitionStats,
  ) {}

  start(): void {
    this.loop = this.supervise();
  }

  // A failing log read or DLQ write must not end the loop for good: resume from the last commit.
  private async supervise(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.run();
      } catch (err) {
        if (err instanceof StoppedError) break;
        this.dropView();
        this.stats.recordError(err as Error);
        this.fn.runtimeLog('error', `partition ${this.tp.topic}/${this.tp.partition}: ${(err as Error).message}; resuming from the last commit`);
        await this.idle(1_000);
      }
    }
    this.dropView();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** Waits for new data (or the timeout); true when woken by the partition advancing. */
  private idle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => done(false), ms);
      const done = (woken: boolean): void => {
        clearTimeout(t);
        this.wake = null;
        resolve(woken);
      };
      this.wake = () => done(true);
    });
  }

  // The view is looked up again after errors and quiet periods, so a leader change is followed.
  private async currentView(): Promise<PartitionView | null> {
    if (this.view) return this.view;
    const v = await this.fn.host.partitions.view(this.tp.topic, this.tp.partition);
    if (!v) return null;
    this.view = v;
    this.unsubscribe = v.onAdvance(() => this.wake?.());
    return v;
  }

  private dropView(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.view = null;
  }

  private async startPosition(): Promise<number> {
    const { topic, partition } = this.tp;
    const committed = await this.fn.committed(topic, partition);
    if (committed >= 0) return committed;
    const view = await this.currentView();
    if (!view) throw new Error(`partition ${topic}/${partition} is not readable here`);
    const start = view.logStartOffset ?? 0;
    const f = this.fn.spec.fromOffset;
    let pos: number;
    switch (f.kind) {
      case 'earliest':
        pos = start;
        break;
      case 'latest':
        pos = view.highWatermark;
        break;
      case 'offset':
        pos = Math.min(Math.max(f.offset, start), view.highWatermark);
        break;
      case 'timestamp':
        pos = (await this.fn.host.partitions.offsetForTimestamp(topic, partition, f.ms)) ?? view.highWatermark;
        break;
    }
    // Pin the start so a restart before the first batch does not re-resolve "latest".
    const code = await this.fn.commit(topic, partition, pos);
    if (code !== 0) throw new Error(`cannot pin the start offset of ${topic}/${partition}: error ${code}`);
    return pos;
  }

  private async run(): Promise<void> {
    const { topic, partition } = this.tp;
    let pos = await this.startPosition();
    this.stats.position = pos;
    const hints = this.fn.probe?.batch ?? null;
    const max = Math.max(1, Math.min(this.fn.spec.limits.maxBatchRecords, hints?.maxRecords ?? Infinity));
    const linger = hints?.lingerMs ?? 0;
    let lingered = false;
    while (!this.stopped) {
      const view = await this.currentView();
      if (!view) {
        await this.idle(1_000);
        continue;
      }
      const hw = view.highWatermark;
      this.highWatermark = hw;
      if (view.logStartOffset !== undefined && pos < view.logStartOffset) pos = view.logStartOffset;
      let records: WireRecord[] = [];
      if (pos < hw) {
        const data = await view.read(pos, READ_BYTES, { minOneBatch: true });
        let next = pos;
        for (const b of await decodeBatches(data, { verifyCrc: false })) {
          next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
          if (b.isControl) continue;
          for (const r of b.records) {
            if (r.offset < pos || r.offset >= hw || records.length >= max) continue;
            records.push({ topic, partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
          }
        }
        if (records.length === 0 && next > pos) {
          // Only control records or compacted gaps: move past them.
          pos = Math.min(next, hw);
          await this.commitAt(pos);
          continue;
        }
      }
      if (records.length === 0) {
        if (!(await this.idle(1_000))) this.dropView();
        continue;
      }
      if (records.length < max && linger > 0 && !lingered) {
        // Time-based batching: give a small batch one chance to fill up.
        lingered = true;
        await sleep(linger);
        continue;
      }
      lingered = false;
      const started = Date.now();
      const ok = await this.process(records);
      if (!ok) return; // stopped mid-retry: the batch is redone by whoever owns it next
      const last = records[records.length - 1]!;
      this.stats.recordBatch(records.length, Date.now() - started, last.timestamp);
      pos = last.offset + 1;
      await this.commitAt(pos);
    }
  }

  private async commitAt(pos: number): Promise<void> {
    this.stats.position = pos;
    const code = await this.fn.commit(this.tp.topic, this.tp.partition, pos);
    if (code !== 0) this.fn.runtimeLog('warn', `offset commit for ${this.tp.topic}/${this.tp.partition} failed with error ${code}; records may be processed again`);
  }

  /**
   * Outputs must become durable before the input offset is committed; a leader moving makes an
   * append fail for a while, which is waited out here rather than blamed on the record.
   */
  private async durably(what: string, write: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + OUTPUT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new StoppedError('stopped');
      try {
        return await write();
      } catch (err) {
        if (isPermanentAppendError(err) || Date.now() > deadline) throw err;
        if (attempt === 0 || attempt % 10 === 0) this.fn.runtimeLog('warn', `${what} failed, retrying: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition });
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** True when every record was processed or dead-lettered; false when stopped first. */
  private async process(records: WireRecord[]): Promise<boolean> {
    if (records.length > 1) {
      let effects: Effects | null = null;
      try {
        effects = await this.fn.runBatch(records);
        await this.fn.applyTables(effects);
      } catch (err) {
        effects = null;
        this.stats.recordError(err as Error);
        this.fn.runtimeLog('warn', `batch of ${records.length} failed, retrying record by record: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition, from: records[0]!.offset });
      }
      if (effects) {
        const done = effects;
        try {
          await this.durably('writing outputs', () => this.fn.emit(done));
          return true;
        } catch (err) {
          if (err instanceof StoppedError) return false;
          this.stats.recordError(err as Error);
          this.fn.runtimeLog('warn', `outputs of a batch of ${records.length} failed, retrying record by record: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition });
        }
      }
    }
    for (const r of records) if (!(await this.processOne(r))) return false;
    return true;
  }

  private async processOne(r: WireRecord): Promise<boolean> {
    const l = this.fn.spec.limits;
    let lastErr: Error = new Error('not attempted');
    for (let attempt = 1; attempt <= l.maxAttempts; attempt++) {
      if (this.stopped) return false;
      try {
        const effects = await this.fn.runBatch([r]);
        await this.fn.applyTables(effects);
        await this.durably('writing outputs', () => this.fn.emit(effects));
        return true;
      } catch (err) {
        if (err instanceof StoppedError) return false;
        lastErr = err as Error;
        this.stats.recordError(lastErr);
        this.fn.runtimeLog('warn', `record ${r.topic}/${r.partition}@${r.offset} failed (attempt ${attempt}/${l.maxAttempts}): ${lastErr.message}`);
        if (attempt < l.maxAttempts) await sleep(l.backoffMs * 2 ** (attempt - 1));
      }
    }
    try {
      await this.durably('dead-lettering', () => this.fn.deadLetter(r, lastErr, l.maxAttempts));
    } catch (err) {
      if (err instanceof StoppedError) return false;
      throw err;
    }
    this.stats.deadLettered++;
    this.fn.runtimeLog('error', `record ${r.topic}/${r.partition}@${r.offset} sent to ${dlqTopicOf(this.fn.name)} after ${l.maxAttempts} attempts: ${lastErr.message}`);
    return true;
  }
}
