// One deployed function version running on this node: a group member, a worker pool, and one
// sequential loop per assigned partition (which is what keeps key order within a partition).
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import type { Table } from '../vector/index.js';
import { GroupMember, type TopicPartition } from '../broker/client/group/member.js';
import type { GroupTransport } from '../broker/client/group/transport.js';
import type { PartitionAccess } from './partition-access.js';
import { PartitionRunner, type PartitionRunnerHost } from './partition-runner.js';
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

export class FunctionInstance implements PartitionRunnerHost {
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
