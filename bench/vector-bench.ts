// Vector tables vs raw hnswlib-node, same data, same HNSW parameters, same process and run.
//   node --expose-gc --import tsx bench/vector-bench.ts [--n 100000] [--queries 200] [--fresh 200]
// Floe runs as a real node (startNode): rows are written through the table API (changelog on a
// compacted topic, index in a worker thread); freshness is timed from a Kafka produce to the input
// topic until a search returns the row. Raw hnswlib runs on the main thread with the same M,
// efConstruction and seed. Searches are one at a time (one client) for both.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { defaultBrokerConfig } from '../broker/config/index.js';
import { startNode } from '../broker/core/node.js';
import { HashingEmbedder } from '../vector/embedder.js';
import { UseLiteEmbedder, useLiteAvailable } from '../vector/use-lite-embedder.js';
import { tableTopics } from '../vector/table-topics.js';
import { machineInfo } from './lib/machine.js';
import { percentile } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    fresh: { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});
const N = Number(args.n);
const Q = Number(args.queries);
const FRESH = Number(args.fresh);
const DIM = 128;
const K = 10;
const M = 16;
const EF_CONSTRUCTION = 200;
const SEED = 100; // the seed Floe's AnnPool gives hnswlib
const EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096];
const TARGETS = [0.9, 0.95, 0.99];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    s ^= s >>> 12;
    return (s >>> 0) / 2 ** 32;
  };
}
const rand = rng(7);
const randomVector = (): Float32Array => {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = rand();
  return v;
};

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const rssMiB = (): number => {
  gc();
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};
const now = (): number => performance.now();
const log = (s: string): void => void process.stderr.write(`[vector-bench] ${s}\n`);

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < DIM; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

function exactTopK(data: Float32Array[], q: Float32Array): Set<number> {
  const best: Array<[number, number]> = [];
  for (let i = 0; i < data.length; i++) {
    const d = l2(data[i]!, q);
    if (best.length < K) {
      best.push([d, i]);
      best.sort((x, y) => x[0] - y[0]);
    } else if (d < best[K - 1]![0]) {
      best[K - 1] = [d, i];
      best.sort((x, y) => x[0] - y[0]);
    }
  }
  return new Set(best.map(([, i]) => i));
}

interface SweepPoint {
  ef: number;
  recall: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
}

async function sweep(search: (q: Float32Array, ef: number) => Promise<number[]> | number[], queries: Float32Array[], truth: Set<number>[]): Promise<SweepPoint[]> {
  const out: SweepPoint[] = [];
  for (const ef of EFS) {
    for (let i = 0; i < Math.min(20, queries.length); i++) await search(queries[i]!, ef); // warm up
    const lat: number[] = [];
    let hits = 0;
    const start = now();
    for (let i = 0; i < queries.length; i++) {
      const t0 = now();
      const keys = await search(queries[i]!, ef);
      lat.push(now() - t0);
      for (const k of keys) if (truth[i]!.has(k)) hits++;
    }
    const total = now() - start;
    const point = { ef, recall: hits / (queries.length * K), qps: (queries.length / total) * 1000, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99) };
    out.push(point);
    if (point.recall >= 0.999) break;
  }
  return out;
}

function atRecall(points: SweepPoint[], target: number): SweepPoint | null {
  return points.find((p) => p.recall >= target) ?? null;
}

async function benchFloe(data: Float32Array[], queries: Float32Array[], truth: Set<number>[]) {
  const dataDir = await mkdtemp(join(tmpdir(), 'floe-vbench-'));
  const config = defaultBrokerConfig({ dataDir, kafkaHost: '127.0.0.1', kafkaPort: 0, httpHost: '127.0.0.1', httpPort: 0 });
  const rss0 = rssMiB();
  const node = await startNode(config, pino({ level: 'warn' }));
  try {
    const rssNode = rssMiB();
    await node.tables.create({
      name: 'bench',
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'int' }],
      vectors: [{ name: 'v', dim: DIM, metric: 'l2', m: M, efConstruction: EF_CONSTRUCTION }],
    });
    const table = await node.tables.table('bench');
    const t0 = now();
    const BATCH = 1000;
    for (let i = 0; i < data.length; i += BATCH) {
      const rows = [];
      for (let j = i; j < Math.min(i + BATCH, data.length); j++) rows.push({ id: j, v: Array.from(data[j]!) });
      await table.upsert(rows);
    }
    const acked = now() - t0;
    log(`floe: ${data.length} rows acknowledged (searchable) in ${(acked / 1000).toFixed(1)} s; building the index`);
    await table.checkpoint();
    while (table.stats().tailRows > 0 || table.stats().building) await table.checkpoint();
    const indexed = now() - t0;
    const rssLoaded = rssMiB();
    log(`floe: indexed in ${(indexed / 1000).toFixed(1)} s; sweeping ef`);
    const points = await sweep(async (q, ef) => (await table.search({ vector: q, k: K, ef })).map((h) => h.key as number), queries, truth);

    // Freshness: Kafka produce (acks=all) to the input topic -> a search returns the row.
    const kafka = new Kafka({ brokers: [`127.0.0.1:${node.kafka.port}`], clientId: 'vector-bench', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const fresh: number[] = [];
    for (let i = 0; i < FRESH; i++) {
      const id = data.length + i;
      const v = randomVector();
      const start = now();
      await producer.send({ topic: tableTopics('bench').input, acks: -1, messages: [{ key: String(id), value: JSON.stringify({ id, v: Array.from(v) }) }] });
      for (;;) {
        const hits = await table.search({ vector: v, k: 1, ef: 64 });
        if (hits[0]?.key === id) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      fresh.push(now() - start);
    }
    await producer.disconnect();
    return {
      rows: data.length,
      ackedSeconds: acked / 1000,
      indexedSeconds: indexed / 1000,
      insertPerSecAcked: data.length / (acked / 1000),
      insertPerSecIndexed: data.length / (indexed / 1000),
      memoryMiB: rssLoaded - rssNode,
      bytesPerVector: ((rssLoaded - rssNode) * 2 ** 20) / data.length,
      nodeBaselineMiB: rssNode - rss0,
      sweep: points,
      freshnessMs: { samples: fresh.length, p50: percentile(fresh, 50), p99: percentile(fresh, 99), max: Math.max(...fresh) },
    };
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchRaw(data: Float32Array[], queries: Float32Array[], truth: Set<number>[]) {
  const rss0 = rssMiB();
  const idx = new hnswlib.HierarchicalNSW('l2', DIM);
  idx.initIndex({ maxElements: data.length, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: SEED });
  const t0 = now();
  for (let i = 0; i < data.length; i++) idx.addPoint(Array.from(data[i]!), i);
  const built = now() - t0;
  const rss1 = rssMiB();
  log(`raw: built in ${(built / 1000).toFixed(1)} s; sweeping ef`);
  keepAlive.push(idx);
  const points = await sweep(
    (q, ef) => {
      idx.setEf(ef);
      return idx.searchKnn(Array.from(q), K).neighbors;
    },
    queries,
    truth,
  );
  // hnswlib's own layout: level 0 holds the vector, 2M links + count and the label per element.
  const level0Bytes = DIM * 4 + (2 * M + 1) * 4 + 8;
  return {
    rows: data.length,
    buildSeconds: built / 1000,
    insertPerSec: data.length / (built / 1000),
    memoryMiB: rss1 - rss0,
    bytesPerVector: ((rss1 - rss0) * 2 ** 20) / data.length,
    level0BytesPerVector: level0Bytes,
    sweep: points,
  };
}

function sentences(n: number): string[] {
  const words = 'stream broker partition offset table vector search kafka log segment replica consumer group event context embedding filter index snapshot query latency'.split(' ');
  const r = rng(11);
  return Array.from({ length: n }, () => Array.from({ length: 8 + Math.floor(r() * 12) }, () => words[Math.floor(r() * words.length)]).join(' '));
}

async function benchEmbedders() {
  const hashing = new HashingEmbedder(512);
  const texts = sentences(20_000);
  let t0 = now();
  await hashing.embed(texts);
  const hashingPerSec = texts.length / ((now() - t0) / 1000);
  let useLite: { loadSeconds: number; textsPerSec: number; batch: number; texts: number } | { skipped: string };
  if (await useLiteAvailable()) {
    const e = new UseLiteEmbedder();
    t0 = now();
    await e.embed(['warm up']);
    const load = (now() - t0) / 1000;
    const sample = sentences(512);
    t0 = now();
    for (let i = 0; i < sample.length; i += 32) await e.embed(sample.slice(i, i + 32));
    useLite = { loadSeconds: load, textsPerSec: sample.length / ((now() - t0) / 1000), batch: 32, texts: sample.length };
  } else useLite = { skipped: '@energetic-ai packages not installed' };
  return { hashing: { dim: 512, texts: texts.length, textsPerSec: hashingPerSec }, useLite };
}

const keepAlive: unknown[] = [];
const fmt = (x: number | undefined, d = 0): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

async function main(): Promise<void> {
  log(`generating ${N} + ${Q} random ${DIM}-d vectors`);
  const data = Array.from({ length: N }, randomVector);
  const queries = Array.from({ length: Q }, randomVector);
  let t0 = now();
  const truth = queries.map((q) => exactTopK(data, q));
  log(`ground truth in ${((now() - t0) / 1000).toFixed(1)} s`);
  // Raw first, and its index stays alive: memory Floe frees later cannot then flatter raw's RSS delta.
  const raw = await benchRaw(data, queries, truth);
  const floe = await benchFloe(data, queries, truth);
  keepAlive.length = 0;
  t0 = now();
  const embedders = await benchEmbedders();
  const recallRows = TARGETS.map((target) => ({ target, floe: atRecall(floe.sweep, target), raw: atRecall(raw.sweep, target) }));
  const result = {
    benchmark: 'vector-tables',
    date: new Date().toISOString(),
    machine: machineInfo(tmpdir()),
    params: { n: N, dim: DIM, k: K, m: M, efConstruction: EF_CONSTRUCTION, seed: SEED, metric: 'l2', data: 'uniform random [0,1)^128', queries: Q, client: 'one query at a time' },
    floe,
    raw,
    atRecall: recallRows,
    embedders,
  };
  const date = new Date().toISOString().slice(0, 10);
  const file = args.out ?? `bench/results/vector-${date}${N === 100_000 ? '' : `-${N}`}.json`;
  await mkdir('bench/results', { recursive: true });
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');

  const lines = [
    `| ${N.toLocaleString('en')} × ${DIM}-d, M=${M}, efC=${EF_CONSTRUCTION} | Floe | raw hnswlib-node | Floe / raw |`,
    '|---|---|---|---|',
    `| insert rate (rows/s, until indexed) | ${fmt(floe.insertPerSecIndexed)} | ${fmt(raw.insertPerSec)} | ${fmt(floe.insertPerSecIndexed / raw.insertPerSec, 2)} |`,
    `| insert rate (rows/s, acknowledged + searchable via exact tail) | ${fmt(floe.insertPerSecAcked)} | – | – |`,
    ...recallRows.flatMap(({ target, floe: f, raw: r }) => [
      `| recall@10 ≥ ${target}: ef / QPS | ${f ? `${f.ef} / ${fmt(f.qps)}` : 'not reached'} | ${r ? `${r.ef} / ${fmt(r.qps)}` : 'not reached'} | ${f && r ? fmt(f.qps / r.qps, 2) : '–'} |`,
      `| recall@10 ≥ ${target}: p50 / p99 ms | ${f ? `${fmt(f.p50Ms, 2)} / ${fmt(f.p99Ms, 2)}` : '–'} | ${r ? `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}` : '–'} | – |`,
    ]),
    `| memory per vector (bytes, RSS delta; raw level-0 layout ${raw.level0BytesPerVector}) | ${fmt(floe.bytesPerVector)} | ${fmt(raw.bytesPerVector)} | ${fmt(floe.bytesPerVector / raw.bytesPerVector, 2)} |`,
    `| freshness, Kafka produce → searchable (p50 / p99 ms) | ${fmt(floe.freshnessMs.p50, 1)} / ${fmt(floe.freshnessMs.p99, 1)} | – | – |`,
    `| hashing embedder (512-d), texts/s | ${fmt(embedders.hashing.textsPerSec)} | – | – |`,
    `| USE-lite embedder (512-d, batches of 32), texts/s | ${'textsPerSec' in embedders.useLite ? fmt(embedders.useLite.textsPerSec) : embedders.useLite.skipped} | – | – |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n\nresults: ${file}\n`);
  process.exit(0);
}

await main();
