// Stream-function figures: records/s through `embed` into a table (feature hashing and USE-lite),
// produce -> searchable latency at half that rate, 1 -> 2 worker threads, and the runtime's
// overhead over calling the same function in a plain loop.
// Run: npx tsx bench/functions-bench.ts [--records 20000] [--use-records 2000] [--seconds 8]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { defaultBrokerConfig } from '../broker/config/index.js';
import { startNode, type FloeNode } from '../api/node.js';
import { encodeBatchSync } from '../broker/protocol/records/records.js';
import { runtimeFor, type FunctionRuntime } from '../stream-functions/runtime.js';
import embedFn from '../stream-functions/builtins/embed.js';
import type { FnContext, FnRecord } from '../stream-functions/sdk.js';
import { useLiteAvailable } from '../vector/index.js';
import { machineInfo } from './lib/machine.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    'use-records': { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '8' },
    partitions: { type: 'string', default: '4' },
  },
});
const N = Number(args.records);
const USE_N = Number(args['use-records']);
const SECONDS = Number(args.seconds);
const PARTITIONS = Number(args.partitions);

const WORDS = 'person car van cat dog bicycle ladder fence gate porch door window yard drive street night morning delivery package mask hood backpack running walking standing parked sleeping climbing carrying near over under behind front back side red blue white black large small old new two three man woman child'.split(' ');

function sentence(i: number): string {
  let x = (i * 2654435761) >>> 0;
  const words: string[] = [];
  for (let k = 0; k < 12; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    words.push(WORDS[x % WORDS.length]!);
  }
  return words.join(' ');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createTopic(node: FloeNode, name: string): Promise<void> {
  await node.broker.topics.create({ name, partitions: PARTITIONS, replicationFactor: -1, configs: {} });
}

async function produceAll(node: FloeNode, topic: string, n: number, prefix: string): Promise<void> {
  const per = new Map<number, Array<{ key: string; value: string }>>();
  for (let i = 0; i < n; i++) {
    const p = i % PARTITIONS;
    const list = per.get(p) ?? [];
    list.push({ key: `${prefix}${i}`, value: JSON.stringify({ id: `${prefix}${i}`, text: sentence(i) }) });
    per.set(p, list);
  }
  await Promise.all(
    [...per].map(async ([p, list]) => {
      const log = node.broker.topics.partition(topic, p)!;
      for (let i = 0; i < list.length; i += 500) await log.append(encodeBatchSync({ records: list.slice(i, i + 500) }));
    }),
  );
}

async function throughput(node: FloeNode, rt: FunctionRuntime, name: string, model: string, parallelism: number, n: number): Promise<{ recordsPerSec: number; seconds: number }> {
  await createTopic(node, `${name}-in`);
  await produceAll(node, `${name}-in`, n, 'r');
  const vars: Record<string, string> = { field: 'text', key: 'id', model };
  await rt.deploy({ name, builtin: 'embed', inputs: [`${name}-in`], table: name, vars, parallelism });
  const t0 = performance.now();
  const table = await node.tables.table(name);
  while (table.stats().rows < n) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  await rt.pause(name);
  return { recordsPerSec: Math.round(n / seconds), seconds: Math.round(seconds * 100) / 100 };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

/** Produce at `rate` records/s for `seconds`; latency = append durable -> row readable in the table. */
async function latency(node: FloeNode, rt: FunctionRuntime, name: string, model: string, rate: number, seconds: number): Promise<{ rate: number; samples: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  await createTopic(node, `${name}-in`);
  await rt.deploy({ name, builtin: 'embed', inputs: [`${name}-in`], table: name, vars: { field: 'text', key: 'id', model } });
  const table = await node.tables.table(name);
  await sleep(500);
  const pending = new Map<string, number>();
  const lat: number[] = [];
  let producing = true;
  const checker = (async () => {
    while (producing || pending.size > 0) {
      for (const [id, at] of pending) {
        if ((await table.get(id)) !== undefined) {
          lat.push(performance.now() - at);
          pending.delete(id);
        }
      }
      await sleep(1);
    }
  })();
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  let owed = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const appends: Promise<void>[] = [];
  while (performance.now() < end) {
    owed += perTick;
    while (owed >= 1) {
      owed -= 1;
      const id = `l${i}`;
      const p = i % PARTITIONS;
      const sample = i % 5 === 0;
      i++;
      appends.push(
        node.broker.topics
          .partition(`${name}-in`, p)!
          .append(encodeBatchSync({ records: [{ key: id, value: JSON.stringify({ id, text: sentence(i) }) }] }))
          .then(() => {
            if (sample) pending.set(id, performance.now());
          }),
      );
    }
    await sleep(tickMs);
  }
  await Promise.all(appends);
  producing = false;
  await checker;
  await rt.pause(name);
  lat.sort((a, b) => a - b);
  return { rate: Math.round(rate), samples: lat.length, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99), maxMs: pct(lat, 100) };
}

/** The embed function called directly (same embedder, same table writes), no runtime. */
async function plainLoop(node: FloeNode, name: string, model: string, n: number): Promise<{ recordsPerSec: number; pureFunctionRecordsPerSec: number }> {
  const vars = { field: 'text', key: 'id', model };
  const { embedTableSpec } = await import('../stream-functions/builtins/embed.js');
  await node.tables.create({ ...embedTableSpec(vars), name });
  const table = await node.tables.table(name);
  let writes: Array<Record<string, unknown>> = [];
  const ctx = {
    name,
    version: 1,
    vars,
    inputs: ['x'],
    outputs: [],
    table: name,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    metrics: { count() {}, gauge() {} },
    emit() {},
    upsert: (_t: string | undefined, rows: Array<Record<string, unknown>>) => writes.push(...rows),
    delete() {},
    search: async () => [],
  } as unknown as FnContext;
  await embedFn.init!(ctx);
  const records: FnRecord[] = Array.from({ length: n }, (_, i) => {
    const value = Buffer.from(JSON.stringify({ id: `p${i}`, text: sentence(i) }));
    return {
      topic: 'x', partition: 0, offset: i, timestamp: Date.now(), key: null, value, headers: [],
      keyText: () => null, text: () => value.toString(), json: <T>() => JSON.parse(value.toString()) as T, header: () => undefined,
    };
  });
  const t0 = performance.now();
  let pure = 0;
  for (let i = 0; i < n; i += 256) {
    const p0 = performance.now();
    await embedFn.processBatch!(records.slice(i, i + 256), ctx);
    pure += performance.now() - p0;
    await table.upsert(writes);
    writes = [];
  }
  const s = (performance.now() - t0) / 1000;
  return { recordsPerSec: Math.round(n / s), pureFunctionRecordsPerSec: Math.round(n / (pure / 1000)) };
}

/** Each measurement on a fresh node, so index builds of an earlier run do not compete with it. */
async function withNode<T>(body: (node: FloeNode, rt: FunctionRuntime) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), 'floe-fn-bench-'));
  const node = await startNode(
    defaultBrokerConfig({ dataDir, kafkaHost: '127.0.0.1', kafkaPort: 0, httpHost: '127.0.0.1', httpPort: 0, groupInitialRebalanceDelayMs: 0 }),
    pino({ level: 'silent' }),
  );
  try {
    return await body(node, runtimeFor(node.broker)!);
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { date: new Date().toISOString(), machine: machineInfo(tmpdir()), settings: { records: N, useRecords: USE_N, partitions: PARTITIONS, latencySeconds: SECONDS, latencySampleEvery: 5 } };
  const log = (k: string, v: unknown): void => {
    out[k] = v;
    process.stderr.write(`${k}: ${JSON.stringify(v)}\n`);
  };
  const h1 = await withNode((node, rt) => throughput(node, rt, 'hash1', 'hashing', 1, N));
  log('hashing_1_worker', h1);
  const h2 = await withNode((node, rt) => throughput(node, rt, 'hash2', 'hashing', 2, N));
  log('hashing_2_workers', h2);
  log('hashing_scaling_1_to_2', Math.round((h2.recordsPerSec / h1.recordsPerSec) * 100) / 100);
  log('hashing_plain_loop', await withNode((node) => plainLoop(node, 'plain', 'hashing', N)));
  log('hashing_latency_half_rate', await withNode((node, rt) => latency(node, rt, 'hashlat', 'hashing', h1.recordsPerSec / 2, SECONDS)));
  if (await useLiteAvailable()) {
    const u1 = await withNode((node, rt) => throughput(node, rt, 'use1', 'use-lite', 1, USE_N));
    log('use_lite_1_worker', u1);
    const u2 = await withNode((node, rt) => throughput(node, rt, 'use2', 'use-lite', 2, USE_N));
    log('use_lite_2_workers', u2);
    log('use_lite_scaling_1_to_2', Math.round((u2.recordsPerSec / u1.recordsPerSec) * 100) / 100);
    log('use_lite_plain_loop', await withNode((node) => plainLoop(node, 'plainuse', 'use-lite', USE_N)));
    log('use_lite_latency_half_rate', await withNode((node, rt) => latency(node, rt, 'uselat', 'use-lite', u1.recordsPerSec / 2, SECONDS)));
  } else {
    log('use_lite', 'skipped: @energetic-ai packages not installed');
  }
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/functions-${new Date().toISOString().slice(0, 10)}.json`;
  await writeFile(file, JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(`wrote ${file}\n`);
}

await main();
