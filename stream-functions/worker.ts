// Piscina worker: loads a function module once per thread, runs batches, and hands back the
// writes it asked for (the main thread makes them durable). A throw rejects the task.
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { isFunctionDefinition, type FnContext, type FnRecord, type FunctionDefinition, type OutRecord, type SearchHit, type SearchQuery } from './sdk.js';
import type { Effects, FnIdentity, ModuleRef, ProbeResult, SearchCall, SearchReply, WireEmit, WireRecord, WorkerTask } from './worker-protocol.js';

interface Loaded {
  def: FunctionDefinition;
  ctx: WorkerContext;
}

const loaded = new Map<string, Promise<Loaded>>();

function keyOf(fn: FnIdentity): string {
  return `${fn.name}@${fn.version}`;
}

async function importModule(ref: ModuleRef): Promise<FunctionDefinition> {
  const url = ref.kind === 'file' ? pathToFileURL(ref.path).href : new URL(`./builtins/${ref.name}.js`, import.meta.url).href;
  const mod = (await import(url)) as { default?: unknown };
  const def = mod.default;
  if (!isFunctionDefinition(def)) throw new Error('the module must `export default defineFunction({ name, process | processBatch })`');
  return def;
}

function toBuffer(u: Uint8Array | null): Buffer | null {
  return u === null ? null : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function encodeValue(v: OutRecord['value']): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function makeRecord(w: WireRecord): FnRecord {
  const key = toBuffer(w.key);
  const value = toBuffer(w.value);
  const headers = w.headers.map((h) => ({ key: h.key, value: toBuffer(h.value) }));
  return {
    topic: w.topic,
    partition: w.partition,
    offset: w.offset,
    timestamp: w.timestamp,
    key,
    value,
    headers,
    keyText: () => (key === null ? null : key.toString('utf8')),
    text: () => (value === null ? '' : value.toString('utf8')),
    json: <T>() => JSON.parse(value === null ? 'null' : value.toString('utf8')) as T,
    header: (name) => headers.find((h) => h.key === name)?.value?.toString('utf8'),
  };
}

function emptyEffects(): Effects {
  return { emits: [], writes: [], logs: [], counters: {}, gauges: {} };
}

class WorkerContext implements FnContext {
  effects: Effects = emptyEffects();
  /** Writes are refused during init(): there are no input offsets to tie them to. */
  writable = false;
  port: MessagePort | null = null;
  private nextCall = 0;
  private readonly calls = new Map<number, { resolve: (h: SearchHit[]) => void; reject: (e: Error) => void }>();

  constructor(private readonly fn: FnIdentity) {}

  get name(): string {
    return this.fn.name;
  }
  get version(): number {
    return this.fn.version;
  }
  get vars(): Readonly<Record<string, string>> {
    return this.fn.vars;
  }
  get inputs(): readonly string[] {
    return this.fn.inputs;
  }
  get outputs(): readonly string[] {
    return this.fn.outputs;
  }
  get table(): string | undefined {
    return this.fn.table ?? undefined;
  }

  readonly logger = {
    debug: (msg: string, fields?: Record<string, unknown>) => this.log('debug', msg, fields),
    info: (msg: string, fields?: Record<string, unknown>) => this.log('info', msg, fields),
    warn: (msg: string, fields?: Record<string, unknown>) => this.log('warn', msg, fields),
    error: (msg: string, fields?: Record<string, unknown>) => this.log('error', msg, fields),
  };

  readonly metrics = {
    count: (name: string, by = 1) => {
      this.effects.counters[name] = (this.effects.counters[name] ?? 0) + by;
    },
    gauge: (name: string, value: number) => {
      this.effects.gauges[name] = value;
    },
  };

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    // Bounded so a chatty function cannot grow a batch's reply without limit.
    if (this.effects.logs.length >= 1000) return;
    this.effects.logs.push(fields === undefined ? { level, msg: String(msg), time: Date.now() } : { level, msg: String(msg), fields: safeFields(fields), time: Date.now() });
  }

  private ensureWritable(what: string): void {
    if (!this.writable) throw new Error(`ctx.${what} is not allowed during init()`);
  }

  emit(topic: string | undefined, record: OutRecord): void {
    this.ensureWritable('emit');
    const t = topic ?? this.fn.outputs[0];
    if (t === undefined) throw new Error('ctx.emit: no topic given and the function has no outputs');
    if (typeof record !== 'object' || record === null || !('value' in record)) throw new Error('ctx.emit: record must be { key?, value, headers? }');
    const e: WireEmit = {
      topic: t,
      key: record.key === undefined || record.key === null ? null : typeof record.key === 'string' ? Buffer.from(record.key, 'utf8') : record.key,
      value: encodeValue(record.value),
      headers: Object.entries(record.headers ?? {}).map(([key, v]) => ({ key, value: typeof v === 'string' ? Buffer.from(v, 'utf8') : v })),
      timestamp: record.timestamp ?? null,
    };
    this.effects.emits.push(e);
  }

  upsert(table: string | undefined, rows: Array<Record<string, unknown>>): void {
    this.ensureWritable('upsert');
    if (!Array.isArray(rows)) throw new Error('ctx.upsert: rows must be an array');
    this.effects.writes.push({ op: 'upsert', table: table ?? null, rows });
  }

  delete(table: string | undefined, keys: Array<string | number>): void {
    this.ensureWritable('delete');
    if (!Array.isArray(keys)) throw new Error('ctx.delete: keys must be an array');
    this.effects.writes.push({ op: 'delete', table: table ?? null, keys });
  }

  search(table: string | undefined, query: SearchQuery): Promise<SearchHit[]> {
    const port = this.port;
    if (port === null) return Promise.reject(new Error('ctx.search is only available while processing'));
    const id = this.nextCall++;
    const q: SearchQuery = { ...query };
    if (q.vector instanceof Float32Array) q.vector = Array.from(q.vector);
    const call: SearchCall = { id, table: table ?? null, query: q };
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      port.postMessage(call);
    });
  }

  attach(port: MessagePort): void {
    this.port = port;
    port.on('message', (m: SearchReply) => {
      const c = this.calls.get(m.id);
      if (!c) return;
      this.calls.delete(m.id);
      if (m.ok) c.resolve(m.hits as SearchHit[]);
      else c.reject(new Error(m.error));
    });
  }

  detach(): void {
    this.port?.close();
    this.port = null;
    for (const c of this.calls.values()) c.reject(new Error('batch finished'));
    this.calls.clear();
  }
}

function safeFields(fields: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
  } catch {
    return { unserializable: true };
  }
}

function load(ref: ModuleRef, fn: FnIdentity): Promise<Loaded> {
  const k = keyOf(fn);
  let p = loaded.get(k);
  if (!p) {
    p = (async () => {
      const def = await importModule(ref);
      const ctx = new WorkerContext(fn);
      await def.init?.(ctx);
      return { def, ctx };
    })();
    loaded.set(k, p);
    p.catch(() => loaded.delete(k));
  }
  return p;
}

async function run(task: Extract<WorkerTask, { kind: 'run' }>): Promise<Effects> {
  const { def, ctx } = await load(task.module, task.fn);
  // Lines logged by init() travel with the first batch.
  const carried = ctx.effects.logs;
  ctx.effects = emptyEffects();
  ctx.effects.logs = carried;
  ctx.writable = true;
  ctx.attach(task.port);
  try {
    const records = task.records.map(makeRecord);
    if (def.processBatch) await def.processBatch(records, ctx);
    else for (const r of records) await def.process!(r, ctx);
    return ctx.effects;
  } finally {
    ctx.writable = false;
    ctx.detach();
  }
}

async function probe(task: Extract<WorkerTask, { kind: 'probe' }>): Promise<ProbeResult> {
  const { def } = await load(task.module, task.fn);
  const spec = typeof def.table === 'function' ? def.table(task.fn.vars) : def.table;
  return {
    name: def.name,
    mode: def.processBatch ? 'batch' : 'record',
    inputs: def.inputs ?? [],
    outputs: def.outputs ?? [],
    tableSpec: spec ?? null,
    batch: (typeof def.batch === 'function' ? def.batch(task.fn.vars) : def.batch) ?? null,
  };
}

async function closeFn(fn: FnIdentity): Promise<void> {
  const p = loaded.get(keyOf(fn));
  if (!p) return;
  loaded.delete(keyOf(fn));
  const { def } = await p;
  await def.close?.();
}

export default async function handle(task: WorkerTask): Promise<unknown> {
  switch (task.kind) {
    case 'probe':
      return probe(task);
    case 'run':
      return run(task);
    case 'close':
      return closeFn(task.fn);
  }
}
