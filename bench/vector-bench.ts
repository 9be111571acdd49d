// Vector tables vs raw hnswlib-node, same data, same HNSW parameters, same process and run.
//   node --expose-gc --import tsx bench/vector-bench.ts [--n 100000] [--data clustered|uniform]
//     [--m 16] [--ef-construction 200] [--queries 200] [--fresh 200] [--threads 2] [--skip-embedders]
// Data: `clustered` (default) is shaped like real embeddings (bench/lib/vector-data.ts); `uniform`
// is the near-worst case the first runs used. Queries come from the same distribution, not the set.
// Floe runs as a real node (startNode): rows are written through the table API (changelog on a
// compacted topic, index in a worker thread); freshness is timed from a Kafka produce to the input
// topic until a search returns the row. Raw hnswlib runs on the main thread with the same M,
// efConstruction and seed. Searches are one at a time (one client) for both.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { getPriority, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { defaultBrokerConfig } from '../broker/config/index.js';
import { startNode } from '../api/node.js';
import { HashingEmbedder } from '../vector/embedder.js';
import { UseLiteEmbedder, useLiteAvailable } from '../vector/use-lite-embedder.js';
import { tableTopics } from '../vector/table-topics.js';
import { hopLatencies, loadDirect, newestIndexFile } from './lib/ann-direct.js';
import { exactKnn } from './lib/exact-knn.js';
import { cpuMeter, machineInfo } from './lib/machine.js';
import { percentile } from './lib/stats.js';
import { one, fill, rng, source, type DataKind } from './lib/vector-data.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    fresh: { type: 'string', default: '200' },
    data: { type: 'string', default: 'clustered' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    threads: { type: 'string', default: '2' },
    'skip-embedders': { type: 'boolean', default: false },
    out: { type: 'string' },
    // Appended to the results file name, e.g. vector-<date>-100k-<tag>.json.
    tag: { type: 'string' },
    // How the table's ANN workers are reached (A/B: 'post' is the plain postMessage path).
    'ann-channel': { type: 'string', default: 'shared' },
  },
});
if (args['ann-channel'] !== 'shared' && args['ann-channel'] !== 'post') throw new Error('--ann-channel must be shared or post');
// Read by the AnnPool the node creates.
process.env.FLOE_ANN_CHANNEL = args['ann-channel'];
if (args.data !== 'clustered' && args.data !== 'uniform') throw new Error('--data must be clustered or uniform');
const DATA: DataKind = args.data;
const N = Number(args.n);
const Q = Number(args.queries);
const FRESH = Number(args.fresh);
const DIM = 128;
const K = 10;
const M = Number(args.m);
const EF_CONSTRUCTION = Number(args['ef-construction']);
const THREADS = Number(args.threads);
const SEED = 100; // the seed Floe's AnnPool gives hnswlib
const EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096];
const TARGETS = [0.9, 0.95, 0.99];

const src = source(DATA, DIM);
/** Vector i of a flat set, as a view. */
const at = (set: Float32Array, i: number): Float32Array => set.subarray(i * DIM, (i + 1) * DIM);

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const rssMiB = (): number => {
  gc();
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};
const now = (): number => performance.now();
/** CPU seconds of the whole process (all threads): on a shared machine this is steadier than wall time. */
const cpuSec = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const log = (s: string): void => void process.stderr.write(`[vector-bench] ${s}\n`);

/** Load averages and machine-wide CPU use over a phase: the machine is shared, so record the noise. */
interface PhaseConditions {
  seconds: number;
  processCores: number;
  machineBusyPercent: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}
const phases: Record<string, PhaseConditions> = {};
const round2 = (x: number): number => Math.round(x * 100) / 100;
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = now();
  const la0 = loadavg().map(round2);
  const meter = cpuMeter(() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const out = await fn();
  const c = meter.stop();
  phases[name] = { seconds: (now() - t0) / 1000, processCores: round2(c.brokerCores), machineBusyPercent: round2(c.machineBusyPercent), loadavgStart: la0, loadavgEnd: loadavg().map(round2) };
  log(`${name}: ${phases[name]!.seconds.toFixed(1)} s, machine ${c.machineBusyPercent.toFixed(0)} % busy, this process ${c.brokerCores.toFixed(2)} cores, load ${phases[name]!.loadavgEnd.join(' ')}`);
  return out;
}

interface SweepPoint {
  ef: number;
  recall: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU time per query, all threads. */
  cpuMsPerQuery: number;
}

async function sweep(search: (q: Float32Array, ef: number) => Promise<number[]> | number[], queries: Float32Array[], truth: Set<number>[]): Promise<SweepPoint[]> {
  const out: SweepPoint[] = [];
  for (const ef of EFS) {
    for (let i = 0; i < Math.min(20, queries.length); i++) await search(queries[i]!, ef); // warm up
    const lat: number[] = [];
    let hits = 0;
    const start = now();
    const cpu0 = cpuSec();
    for (let i = 0; i < queries.length; i++) {
      const t0 = now();
      const keys = await search(queries[i]!, ef);
      lat.push(now() - t0);
      for (const k of keys) if (truth[i]!.has(k)) hits++;
    }
    const total = now() - start;
    const cpuMsPerQuery = ((cpuSec() - cpu0) * 1000) / queries.length;
    const point = { ef, recall: hits / (queries.length * K), qps: (queries.length / total) * 1000, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), cpuMsPerQuery };
    out.push(point);
    if (point.recall >= 0.999) break;
  }
  return out;
}

function atRecall(points: SweepPoint[], target: number): SweepPoint | null {
  return points.find((p) => p.recall >= target) ?? null;
}

async function benchFloe(data: Float32Array, queries: Float32Array[], truth: Set<number>[]) {
  const n = data.length / DIM;
  const dataDir = await mkdtemp(join(tmpdir(), 'floe-vbench-'));
  const config = defaultBrokerConfig({ dataDir, kafkaHost: '127.0.0.1', kafkaPort: 0, httpHost: '127.0.0.1', httpPort: 0 });
  const rss0 = rssMiB();
  const node = await startNode(config, pino({ level: 'warn' }));
  try {
    const rssNode = rssMiB();
    const memNode = process.memoryUsage();
    await node.tables.create({
      name: 'bench',
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'int' }],
      vectors: [{ name: 'v', dim: DIM, metric: 'l2', m: M, efConstruction: EF_CONSTRUCTION }],
    });
    const table = await node.tables.table('bench');
    const t0 = now();
    const cpu0 = cpuSec();
    const BATCH = 1000;
    for (let i = 0; i < n; i += BATCH) {
      const rows = [];
      for (let j = i; j < Math.min(i + BATCH, n); j++) rows.push({ id: j, v: Array.from(at(data, j)) });
      await table.upsert(rows);
    }
    const acked = now() - t0;
    const ackedCpu = cpuSec() - cpu0;
    log(`floe: ${n} rows acknowledged (searchable) in ${(acked / 1000).toFixed(1)} s; building the index`);
    await table.checkpoint();
    while (table.stats().tailRows > 0 || table.stats().building) await table.checkpoint();
    const indexed = now() - t0;
    const indexedCpu = cpuSec() - cpu0;
    const rssLoaded = rssMiB();
    const memLoaded = process.memoryUsage();
    log(`floe: indexed in ${(indexed / 1000).toFixed(1)} s; sweeping ef`);
    const points = await sweep(async (q, ef) => (await table.search({ vector: q, k: K, ef })).map((h) => h.key as number), queries, truth);

    // Overhead split: the same graph (the table's last snapshot) searched through an ANN worker
    // directly, and the bare worker round trip. Labels equal ids: each id was upserted once, in order.
    // Both worker channels, so the channel's effect is measured in the same run.
    let annWorkerSweep: SweepPoint[] | undefined;
    let annWorkerSweepPost: SweepPoint[] | undefined;
    const file = await newestIndexFile(dataDir, 'v');
    if (file) {
      for (const channel of ['shared', 'post'] as const) {
        const direct = await loadDirect(file, 'l2', DIM, channel);
        try {
          const points = await sweep(async (q, ef) => (await direct.index.search(q, K, ef, Infinity)).labels, queries, truth);
          if (channel === 'shared') annWorkerSweep = points;
          else annWorkerSweepPost = points;
        } finally {
          await direct.close();
        }
      }
    }
    const hop = await hopLatencies(DIM, 1000, 'shared');
    const hopPost = await hopLatencies(DIM, 1000, 'post');
    const { snapshotsWritten } = table.stats();

    // Freshness: Kafka produce (acks=all) to the input topic -> a search returns the row.
    const kafka = new Kafka({ brokers: [`127.0.0.1:${node.kafka.port}`], clientId: 'vector-bench', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const fresh: number[] = [];
    for (let i = 0; i < FRESH; i++) {
      const id = n + i;
      const v = one(src.fresh, DIM);
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
      rows: n,
      ackedSeconds: acked / 1000,
      indexedSeconds: indexed / 1000,
      insertPerSecAcked: n / (acked / 1000),
      insertPerSecIndexed: n / (indexed / 1000),
      ackedCpuSeconds: ackedCpu,
      indexedCpuSeconds: indexedCpu,
      insertPerCpuSecondIndexed: n / indexedCpu,
      memoryMiB: rssLoaded - rssNode,
      bytesPerVector: ((rssLoaded - rssNode) * 2 ** 20) / n,
      nodeBaselineMiB: rssNode - rss0,
      sweep: points,
      heapUsedBytesPerVector: (memLoaded.heapUsed - memNode.heapUsed) / n,
      arrayBuffersBytesPerVector: (memLoaded.arrayBuffers - memNode.arrayBuffers) / n,
      annChannel: args['ann-channel'],
      snapshotsWritten,
      annWorkerSweep,
      annWorkerSweepPost,
      workerHopMs: { samples: hop.length, p50: percentile(hop, 50), p99: percentile(hop, 99) },
      workerHopMsPost: { samples: hopPost.length, p50: percentile(hopPost, 50), p99: percentile(hopPost, 99) },
      freshnessMs: { samples: fresh.length, p50: percentile(fresh, 50), p99: percentile(fresh, 99), max: Math.max(...fresh) },
    };
  } finally {
    await node.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchRaw(data: Float32Array, queries: Float32Array[], truth: Set<number>[]) {
  const n = data.length / DIM;
  const rss0 = rssMiB();
  const idx = new hnswlib.HierarchicalNSW('l2', DIM);
  idx.initIndex({ maxElements: n, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: SEED });
  const t0 = now();
  const cpu0 = cpuSec();
  for (let i = 0; i < n; i++) {
    idx.addPoint(Array.from(at(data, i)), i);
    if ((i + 1) % 100_000 === 0) log(`raw: ${i + 1} added, ${((i + 1) / ((now() - t0) / 1000)).toFixed(0)}/s so far`);
  }
  const built = now() - t0;
  const builtCpu = cpuSec() - cpu0;
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
    rows: n,
    buildSeconds: built / 1000,
    insertPerSec: n / (built / 1000),
    buildCpuSeconds: builtCpu,
    insertPerCpuSecond: n / builtCpu,
    memoryMiB: rss1 - rss0,
    bytesPerVector: ((rss1 - rss0) * 2 ** 20) / n,
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
  log(`generating ${N} + ${Q} ${src.description} vectors`);
  const { data, queries } = await phase('generate', async () => ({ data: fill(src.data, N, DIM, true), queries: fill(src.queries, Q, DIM) }));
  const queryList = Array.from({ length: Q }, (_, i) => at(queries, i));
  const truth = (await phase('groundTruth', () => exactKnn(data, queries, DIM, K, THREADS))).map((ids) => new Set(ids));
  // Raw first, and its index stays alive: memory Floe frees later cannot then flatter raw's RSS delta.
  const raw = await phase('raw', () => benchRaw(data, queryList, truth));
  const floe = await phase('floe', () => benchFloe(data, queryList, truth));
  keepAlive.length = 0;
  const embedders = args['skip-embedders'] ? { skipped: true as const } : await phase('embedders', benchEmbedders);
  const recallRows = TARGETS.map((target) => ({ target, floe: atRecall(floe.sweep, target), raw: atRecall(raw.sweep, target) }));
  const result = {
    benchmark: 'vector-tables',
    date: new Date().toISOString(),
    machine: machineInfo(tmpdir()),
    params: {
      n: N, dim: DIM, k: K, m: M, efConstruction: EF_CONSTRUCTION, seed: SEED, metric: 'l2', data: DATA, dataDescription: src.description,
      queries: Q, queriesFrom: DATA === 'uniform' ? 'same uniform stream' : 'same mixture, separate stream', client: 'one query at a time',
      groundTruthThreads: THREADS, nice: getPriority(), execArgv: process.execArgv,
    },
    conditions: phases,
    floe,
    raw,
    atRecall: recallRows,
    embedders,
  };
  const date = new Date().toISOString().slice(0, 10);
  const size = N % 1_000_000 === 0 ? `${N / 1_000_000}m` : N % 1000 === 0 ? `${N / 1000}k` : String(N);
  const file = args.out ?? `bench/results/vector-${date}-${size}${DATA === 'uniform' ? '-uniform' : ''}${args.tag ? `-${args.tag}` : ''}.json`;
  await mkdir('bench/results', { recursive: true });
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');

  const lines = [
    `| ${N.toLocaleString('en')} × ${DIM}-d ${DATA}, M=${M}, efC=${EF_CONSTRUCTION} | Floe | raw hnswlib-node | Floe / raw |`,
    '|---|---|---|---|',
    `| insert rate (rows/s, until indexed) | ${fmt(floe.insertPerSecIndexed)} | ${fmt(raw.insertPerSec)} | ${fmt(floe.insertPerSecIndexed / raw.insertPerSec, 2)} |`,
    `| insert rate per CPU-second of the process (rows, until indexed) | ${fmt(floe.insertPerCpuSecondIndexed)} | ${fmt(raw.insertPerCpuSecond)} | ${fmt(floe.insertPerCpuSecondIndexed / raw.insertPerCpuSecond, 2)} |`,
    `| insert rate (rows/s, acknowledged + searchable via exact tail) | ${fmt(floe.insertPerSecAcked)} | – | – |`,
    ...recallRows.flatMap(({ target, floe: f, raw: r }) => [
      `| recall@10 ≥ ${target}: ef / QPS | ${f ? `${f.ef} / ${fmt(f.qps)}` : 'not reached'} | ${r ? `${r.ef} / ${fmt(r.qps)}` : 'not reached'} | ${f && r ? fmt(f.qps / r.qps, 2) : '–'} |`,
      `| recall@10 ≥ ${target}: CPU ms per query | ${f ? fmt(f.cpuMsPerQuery, 3) : '–'} | ${r ? fmt(r.cpuMsPerQuery, 3) : '–'} | ${f && r ? fmt(f.cpuMsPerQuery / r.cpuMsPerQuery, 2) : '–'} |`,
      `| recall@10 ≥ ${target}: p50 / p99 ms | ${f ? `${fmt(f.p50Ms, 2)} / ${fmt(f.p99Ms, 2)}` : '–'} | ${r ? `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}` : '–'} | – |`,
    ]),
    ...recallRows.flatMap(({ target, raw: r }) =>
      (['shared', 'post'] as const).map((channel) => {
        const d = r && (channel === 'shared' ? floe.annWorkerSweep : floe.annWorkerSweepPost)?.find((p) => p.ef === r.ef);
        return `| ANN worker (${channel} channel) without the table, at raw's ef for ${target}: p50 ms / CPU ms per query | ${d ? `${fmt(d.p50Ms, 3)} / ${fmt(d.cpuMsPerQuery, 3)}` : '–'} | – | ${d && r ? fmt(d.cpuMsPerQuery / r.cpuMsPerQuery, 2) : '–'} |`;
      }),
    ),
    `| worker round trip alone, shared / post channel (p50 ms) | ${fmt(floe.workerHopMs.p50, 3)} / ${fmt(floe.workerHopMsPost.p50, 3)} | – | – |`,
    `| snapshots written during load + final checkpoint | ${floe.snapshotsWritten} | – | – |`,
    `| JS heap / ArrayBuffer bytes per vector (table's main thread) | ${fmt(floe.heapUsedBytesPerVector)} / ${fmt(floe.arrayBuffersBytesPerVector)} | – | – |`,
    `| memory per vector (bytes, RSS delta; raw level-0 layout ${raw.level0BytesPerVector}) | ${fmt(floe.bytesPerVector)} | ${fmt(raw.bytesPerVector)} | ${fmt(floe.bytesPerVector / raw.bytesPerVector, 2)} |`,
    `| freshness, Kafka produce → searchable (p50 / p99 ms) | ${fmt(floe.freshnessMs.p50, 1)} / ${fmt(floe.freshnessMs.p99, 1)} | – | – |`,
    ...('hashing' in embedders
      ? [
          `| hashing embedder (512-d), texts/s | ${fmt(embedders.hashing.textsPerSec)} | – | – |`,
          `| USE-lite embedder (512-d, batches of 32), texts/s | ${'textsPerSec' in embedders.useLite ? fmt(embedders.useLite.textsPerSec) : embedders.useLite.skipped} | – | – |`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n\nresults: ${file}\n`);
  process.exit(0);
}

await main();
