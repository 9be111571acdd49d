// Produce/consume benchmark of a real `floe serve` process (see docs/benchmarks.md).
// The client sends pre-encoded Produce requests over many pipelined connections from worker
// threads, so the broker rather than the client sets the pace.
//   npx tsx bench/produce-consume.ts [--runs 3] [--profile] [--help]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { BrokerProcess, sampleRss } from './lib/broker-process.js';
import { latestProfile, topSelfTime, type SelfTime } from './lib/cpu-profile.js';
import { KafkaConn } from './lib/kafka-conn.js';
import { runJob, type ConsumeAssignment, type ConsumeJob, type ConsumeResult, type Job, type JobResult, type ProduceJob, type ProduceResult } from './lib/load-jobs.js';
import { cpuMeter, machineBusyPercent, machineInfo } from './lib/machine.js';
import { createTopic, latestOffsets } from './lib/requests.js';
import { epochNow, median, MiB, sleep, summarize, type LatencySummary } from './lib/stats.js';
import { tail } from './lib/tailer.js';
import { runInWorker } from './lib/worker-run.js';
import { writeDocsSection, type Summary } from './lib/report.js';

const REPO = fileURLToPath(new URL('../', import.meta.url)).replace(/\/dist\/$/, '/');
const RESULTS_DIR = join(REPO, 'bench', 'results');
const DOCS_FILE = join(REPO, 'docs', 'benchmarks.md');
/** Time given to worker threads to boot and connect before load starts. */
const WORKER_BOOT_MS = 2500;
const IDLE_SETTLE_MS = 3000;
const RSS_SAMPLE_MS = 100;
const PHASES = ['max', 'paced', 'e2e', 'consume'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  runs: number;
  partitions: number;
  batchRecords: number;
  recordBytes: number;
  acks: number;
  workers: number;
  connections: number;
  depth: number;
  warmup: number;
  duration: number;
  consumeConnections: number;
  consumeTimeout: number;
  dataParent: string;
  phases: Phase[];
  profile: boolean;
  profileDir: string;
  quietWait: number;
  quietBelow: number;
  write: boolean;
  /** Fixed request rate for the paced and e2e phases (0: half the measured max rate). */
  rate: number;
}

export interface RunResult {
  run: number;
  profiled: boolean;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  loadAvgAtStart: number;
  /** Share of all cores busy in the 3 s before the broker started (other processes). */
  machineBusyBeforePercent: number;
  idleRssMiB: number;
  /** Largest VmRSS sampled during the max-rate produce phase. */
  loadedRssMiB: number;
  /** VmHWM (peak RSS since start) right after the max-rate produce phase. */
  loadedHwmMiB: number;
  produceMax?: {
    MiBps: number;
    recordsPerSec: number;
    requestsPerSec: number;
    wireMiBps: number;
    closedLoopLatencyMs: LatencySummary;
    cpu: CpuUse;
    errors: number;
    firstError: string | null;
  };
  producePaced?: {
    targetRequestsPerSec: number;
    requestsPerSec: number;
    MiBps: number;
    latencyMs: LatencySummary;
    serviceMs: LatencySummary;
    maxScheduleLagMs: number;
    cpu: CpuUse;
    errors: number;
    unanswered: number;
    firstError: string | null;
  };
  endToEnd?: {
    requestsPerSec: number;
    e2eMs: LatencySummary;
    produceLatencyMs: LatencySummary;
    batchesSeen: number;
    /** Produce requests (= batches) acknowledged in the measured window. */
    expectedBatches: number;
    /** Fetch round trips of the tailer in the measured window. */
    fetches: number;
    fetchBytes: LatencySummary;
    fetchRoundTripMs: LatencySummary;
    tailerDecodeMs: number;
    cpu: CpuUse;
    errors: number;
    firstError: string | null;
  };
  consume?: {
    MiBps: number;
    recordsPerSec: number;
    wireMiBps: number;
    records: number;
    seconds: number;
    complete: boolean;
    cpu: CpuUse;
    errors: number;
    firstError: string | null;
  };
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function parseOptions(argv: string[]): Options {
  const program = new Command()
    .name('produce-consume')
    .description('Produce/consume throughput, latency and memory of a floe broker started from dist/')
    .option('--runs <n>', 'measured runs (each with a fresh broker and data dir); figures are medians', int('runs', 0), 3)
    .option('--partitions <n>', 'partitions of the bench topic', int('partitions', 1), 8)
    .option('--batch-records <n>', 'records per batch (one batch per Produce request)', int('batch-records', 1), 128)
    .option('--record-bytes <n>', 'value bytes per record', int('record-bytes', 1), 1024)
    .option('--acks <n>', 'Produce acks', (v) => Number(v), -1)
    .option('--workers <n>', 'load worker threads (0 = run load in the main thread)', int('workers', 0), 1)
    .option('--connections <n>', 'producer connections per worker', int('connections', 1), 8)
    .option('--depth <n>', 'pipelined Produce requests per connection at max rate', int('depth', 1), 4)
    .option('--warmup <s>', 'seconds of load before measuring', Number, 2)
    .option('--duration <s>', 'measured seconds of each produce phase', Number, 10)
    .option('--consume-connections <n>', 'consumer connections in total', int('consume-connections', 1), 8)
    .option('--consume-timeout <s>', 'give up consuming after this many seconds', Number, 60)
    .option('--data-parent <dir>', 'where the per-run data directories are created', tmpdir())
    .addOption(new Option('--phases <list>', 'comma-separated subset of phases').default(PHASES.join(',')))
    .option('--profile', 'add one extra, unmeasured run with the broker under --cpu-prof and report its top self-time functions', false)
    .option('--profile-dir <dir>', 'where the broker writes its .cpuprofile', join(tmpdir(), 'floe-bench-profiles'))
    .option('--quiet-wait <s>', 'before each run, wait up to this long for other work on the machine to calm down', Number, 300)
    .option('--quiet-below <percent>', 'machine CPU busy share (over 3 s) that counts as calm', Number, 15)
    .option('--rate <n>', 'requests/s for the paced and e2e phases instead of half the measured max rate (lets them run without the max phase)', Number, 0)
    .option('--no-write', 'print figures only; do not write bench/results or docs/benchmarks.md');
  program.parse(argv);
  const o = program.opts();
  const phases = String(o.phases).split(',').map((s) => s.trim()) as Phase[];
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`unknown phase ${p}; phases are ${PHASES.join(', ')}`);
  if (o.runs === 0 && !o.profile) throw new Error('--runs 0 only makes sense with --profile');
  if ((phases.includes('paced') || phases.includes('e2e')) && !phases.includes('max') && !(o.rate > 0)) throw new Error('paced and e2e need the max phase (they run at half its rate) or --rate');
  return { ...(o as Omit<Options, 'phases'>), phases };
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function run<R extends JobResult>(job: Job, inThread: boolean): Promise<R> {
  return inThread ? (runJob(job) as Promise<R>) : runInWorker<R>(job);
}

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

interface ProducePhase {
  results: ProduceResult[];
  seconds: number;
  measureFrom: number;
  measureTo: number;
  requests: number;
  records: number;
  valueBytes: number;
  wireBytes: number;
  errors: number;
  firstError: string | null;
  latency: Float64Array;
  service: Float64Array;
  cpu: CpuUse;
}

interface CpuUse {
  /** Broker CPU time over the measured window divided by its length. */
  brokerCores: number;
  /** Share of all cores busy (any process) over the measured window. */
  machineBusyPercent: number;
}

async function measureCpu(broker: BrokerProcess, from: number, to: number): Promise<CpuUse> {
  await sleep(from - epochNow());
  const meter = cpuMeter(() => broker.cpuSeconds());
  await sleep(to - epochNow());
  return meter.stop();
}

/** One produce phase over all workers: closed loop when ratePerSec is 0, else paced (total rate). */
async function producePhase(
  o: Options,
  broker: BrokerProcess,
  topic: string,
  ratePerSec: number,
  stampTime: boolean,
  during?: (window: { measureFrom: number; measureTo: number }) => Promise<void>,
): Promise<ProducePhase> {
  const workers = Math.max(1, o.workers);
  const startAt = epochNow() + (o.workers > 0 ? WORKER_BOOT_MS : 200);
  const measureFrom = startAt + o.warmup * 1000;
  const measureTo = measureFrom + o.duration * 1000;
  const jobs: ProduceJob[] = Array.from({ length: workers }, (_, w) => ({
    kind: 'produce',
    host: broker.host,
    port: broker.port,
    topic,
    // Each worker starts at a different partition so they do not move in lock step.
    partitions: Array.from({ length: o.partitions }, (_, i) => (i + Math.floor((w * o.partitions) / workers)) % o.partitions),
    connections: o.connections,
    depth: o.depth,
    ratePerSec: ratePerSec / workers,
    batchRecords: o.batchRecords,
    recordBytes: o.recordBytes,
    acks: o.acks,
    stampTime,
    startAt,
    measureFrom,
    measureTo,
  }));
  const [results, cpu] = await Promise.all([
    Promise.all(jobs.map((j) => run<ProduceResult>(j, o.workers === 0))),
    measureCpu(broker, measureFrom, measureTo),
    during?.({ measureFrom, measureTo }),
  ]);
  const sum = (f: (r: ProduceResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    results,
    seconds: o.duration,
    measureFrom,
    measureTo,
    requests: sum((r) => r.requests),
    records: sum((r) => r.records),
    valueBytes: sum((r) => r.valueBytes),
    wireBytes: sum((r) => r.wireBytes),
    errors: sum((r) => r.errors),
    firstError: results.find((r) => r.firstError)?.firstError ?? null,
    latency: concat(results.map((r) => r.latencyMs)),
    service: concat(results.map((r) => r.serviceMs)),
    cpu,
  };
}

async function consumePhase(o: Options, broker: BrokerProcess, topic: string, ends: number[]): Promise<NonNullable<RunResult['consume']>> {
  const conns = Math.min(o.consumeConnections, o.partitions);
  const workers = Math.max(1, Math.min(o.workers, conns));
  const perConn: ConsumeAssignment[][] = Array.from({ length: conns }, () => []);
  ends.forEach((to, partition) => perConn[partition % conns]!.push({ partition, from: 0, to }));
  const startAt = epochNow() + (o.workers > 0 ? WORKER_BOOT_MS : 200);
  const jobs: ConsumeJob[] = Array.from({ length: workers }, (_, w) => ({
    kind: 'consume',
    host: broker.host,
    port: broker.port,
    topic,
    assignments: perConn.filter((_, c) => c % workers === w),
    maxBytes: 64 * MiB,
    partitionMaxBytes: 16 * MiB,
    startAt,
    deadline: startAt + o.consumeTimeout * 1000,
  }));
  const running = Promise.all(jobs.map((j) => run<ConsumeResult>(j, o.workers === 0)));
  await sleep(startAt - epochNow());
  const meter = cpuMeter(() => broker.cpuSeconds());
  const results = await running;
  const cpu = meter.stop();
  const seconds = (Math.max(...results.map((r) => r.finishedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
  const records = results.reduce((n, r) => n + r.records, 0);
  const wire = results.reduce((n, r) => n + r.wireBytes, 0);
  return {
    MiBps: (records * o.recordBytes) / MiB / seconds,
    recordsPerSec: records / seconds,
    wireMiBps: wire / MiB / seconds,
    records,
    seconds,
    complete: results.every((r) => r.complete),
    cpu,
    errors: results.reduce((n, r) => n + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError ?? null,
  };
}

/** Waits (bounded) until the machine is mostly idle, so other jobs do not skew a run. */
async function waitForQuiet(o: Options): Promise<number> {
  const deadline = Date.now() + o.quietWait * 1000;
  for (;;) {
    const busy = await machineBusyPercent(3000);
    if (busy < o.quietBelow) return busy;
    if (Date.now() >= deadline) {
      log(`machine still ${busy.toFixed(0)}% busy with other work; running anyway`);
      return busy;
    }
    log(`machine ${busy.toFixed(0)}% busy with other work; waiting`);
  }
}

async function oneRun(o: Options, index: number, profiled: boolean): Promise<RunResult> {
  const busyBefore = await waitForQuiet(o);
  const dataDir = mkdtempSync(join(o.dataParent, 'floe-bench-'));
  if (profiled) mkdirSync(o.profileDir, { recursive: true });
  const broker = await BrokerProcess.start({ dataDir, cpuProfDir: profiled ? o.profileDir : undefined });
  const topic = 'bench';
  const has = (p: Phase) => o.phases.includes(p);
  try {
    log(`run ${index}${profiled ? ' (profiled)' : ''}: machine ${busyBefore.toFixed(0)}% busy before start, broker pid ${broker.pid} on ${broker.host}:${broker.port}, data in ${dataDir}`);
    await sleep(IDLE_SETTLE_MS);
    const idle = broker.memory();
    const result: RunResult = { run: index, profiled, loadAvgAtStart: loadavg()[0]!, machineBusyBeforePercent: busyBefore, idleRssMiB: idle.rssMiB, loadedRssMiB: Number.NaN, loadedHwmMiB: Number.NaN };
    const admin = await KafkaConn.open(broker.host, broker.port);
    try {
      await createTopic(admin, topic, o.partitions);
    } finally {
      admin.close();
    }

    let maxRate = 0;
    if (has('max')) {
      const rss = sampleRss(broker, RSS_SAMPLE_MS);
      const ph = await producePhase(o, broker, topic, 0, false);
      result.loadedRssMiB = rss.stop();
      result.loadedHwmMiB = broker.memory().hwmMiB;
      maxRate = ph.requests / ph.seconds;
      result.produceMax = {
        MiBps: ph.valueBytes / MiB / ph.seconds,
        recordsPerSec: ph.records / ph.seconds,
        requestsPerSec: maxRate,
        wireMiBps: ph.wireBytes / MiB / ph.seconds,
        closedLoopLatencyMs: summarize(ph.latency),
        cpu: ph.cpu,
        errors: ph.errors,
        firstError: ph.firstError,
      };
      const cl = result.produceMax.closedLoopLatencyMs;
      log(`  max rate: ${result.produceMax.MiBps.toFixed(1)} MiB/s, ${Math.round(result.produceMax.recordsPerSec)} records/s, closed-loop p50 ${cl.p50.toFixed(1)} ms p99 ${cl.p99.toFixed(1)} ms, broker ${ph.cpu.brokerCores.toFixed(2)} cores, machine ${ph.cpu.machineBusyPercent.toFixed(0)}% busy, errors ${ph.errors}${ph.firstError ? ` (${ph.firstError})` : ''}`);
      if (maxRate === 0) throw new Error(`no Produce request succeeded at max rate: ${ph.firstError ?? 'no replies'}`);
    }
    const halfRate = o.rate > 0 ? o.rate : maxRate / 2;

    if (has('paced')) {
      const ph = await producePhase(o, broker, topic, halfRate, false);
      const lag = Math.max(...ph.results.map((r) => r.maxScheduleLagMs));
      result.producePaced = {
        targetRequestsPerSec: halfRate,
        requestsPerSec: ph.requests / ph.seconds,
        MiBps: ph.valueBytes / MiB / ph.seconds,
        latencyMs: summarize(ph.latency),
        serviceMs: summarize(ph.service),
        maxScheduleLagMs: lag,
        cpu: ph.cpu,
        errors: ph.errors,
        unanswered: ph.results.reduce((n, r) => n + r.unanswered, 0),
        firstError: ph.firstError,
      };
      const l = result.producePaced.latencyMs;
      const sv = result.producePaced.serviceMs;
      log(`  paced ${result.producePaced.MiBps.toFixed(1)} MiB/s: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, p999 ${l.p999.toFixed(2)} ms` +
        ` (from socket write: p50 ${sv.p50.toFixed(2)}, p99 ${sv.p99.toFixed(2)}; worst pacing lag ${lag.toFixed(1)} ms; broker ${ph.cpu.brokerCores.toFixed(2)} cores; errors ${ph.errors})`);
    }

    if (has('e2e')) {
      const admin2 = await KafkaConn.open(broker.host, broker.port);
      const from = await latestOffsets(admin2, topic, o.partitions).finally(() => admin2.close());
      let tailResult: Awaited<ReturnType<typeof tail>> | undefined;
      const ph = await producePhase(o, broker, topic, halfRate, true, async (w) => {
        tailResult = await tail({ host: broker.host, port: broker.port, topic, from, measureFrom: w.measureFrom, measureTo: w.measureTo, stopAt: w.measureTo + 2000, traceFile: process.env.FLOE_BENCH_TAIL_TRACE });
      });
      result.endToEnd = {
        requestsPerSec: ph.requests / ph.seconds,
        e2eMs: summarize(tailResult!.e2eMs),
        produceLatencyMs: summarize(ph.latency),
        batchesSeen: tailResult!.batches,
        expectedBatches: ph.requests,
        fetches: tailResult!.fetches,
        fetchBytes: summarize(tailResult!.responseBytes),
        fetchRoundTripMs: summarize(tailResult!.roundTripMs),
        tailerDecodeMs: tailResult!.decodeMs,
        cpu: ph.cpu,
        errors: ph.errors + tailResult!.errors,
        firstError: ph.firstError ?? tailResult!.firstError,
      };
      const e = result.endToEnd;
      log(`  end-to-end at ${(ph.valueBytes / MiB / ph.seconds).toFixed(1)} MiB/s: p50 ${e.e2eMs.p50.toFixed(1)} ms, p99 ${e.e2eMs.p99.toFixed(1)} ms (${e.e2eMs.count} of ${ph.requests} batches);` +
        ` produce p50 ${e.produceLatencyMs.p50.toFixed(1)} p99 ${e.produceLatencyMs.p99.toFixed(1)} ms; ${e.fetches} fetches, response p50 ${(e.fetchBytes.p50 / 1024).toFixed(0)} KiB max ${(e.fetchBytes.max / MiB).toFixed(1)} MiB,` +
        ` round trip p50 ${e.fetchRoundTripMs.p50.toFixed(1)} p99 ${e.fetchRoundTripMs.p99.toFixed(1)} ms; broker ${ph.cpu.brokerCores.toFixed(2)} cores, machine ${ph.cpu.machineBusyPercent.toFixed(0)}% busy`);
    }

    if (has('consume')) {
      const admin3 = await KafkaConn.open(broker.host, broker.port);
      const ends = await latestOffsets(admin3, topic, o.partitions).finally(() => admin3.close());
      result.consume = await consumePhase(o, broker, topic, ends);
      log(`  consume: ${result.consume.MiBps.toFixed(1)} MiB/s over ${result.consume.seconds.toFixed(1)} s, broker ${result.consume.cpu.brokerCores.toFixed(2)} cores${result.consume.complete ? '' : ' (INCOMPLETE)'}`);
    }
    return result;
  } finally {
    const code = await broker.stop();
    if (code !== 0) log(`broker exited with code ${code}; stderr tail:\n${broker.stderr}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function summarizeRuns(runs: RunResult[]): Summary {
  const m = (f: (r: RunResult) => number | undefined) => median(runs.map((r) => f(r) ?? Number.NaN));
  return {
    runs: runs.length,
    produceMiBps: m((r) => r.produceMax?.MiBps),
    produceRecordsPerSec: m((r) => r.produceMax?.recordsPerSec),
    pacedMiBps: m((r) => r.producePaced?.MiBps),
    produceP50Ms: m((r) => r.producePaced?.latencyMs.p50),
    produceP99Ms: m((r) => r.producePaced?.latencyMs.p99),
    produceP999Ms: m((r) => r.producePaced?.latencyMs.p999),
    e2eP50Ms: m((r) => r.endToEnd?.e2eMs.p50),
    e2eP99Ms: m((r) => r.endToEnd?.e2eMs.p99),
    consumeMiBps: m((r) => r.consume?.MiBps),
    consumeRecordsPerSec: m((r) => r.consume?.recordsPerSec),
    idleRssMiB: m((r) => r.idleRssMiB),
    loadedRssMiB: m((r) => r.loadedRssMiB),
    loadedHwmMiB: m((r) => r.loadedHwmMiB),
    perRun: {
      produceMiBps: runs.map((r) => r.produceMax?.MiBps ?? Number.NaN),
      produceP99Ms: runs.map((r) => r.producePaced?.latencyMs.p99 ?? Number.NaN),
      e2eP99Ms: runs.map((r) => r.endToEnd?.e2eMs.p99 ?? Number.NaN),
      consumeMiBps: runs.map((r) => r.consume?.MiBps ?? Number.NaN),
      idleRssMiB: runs.map((r) => r.idleRssMiB),
      machineBusyBeforePercent: runs.map((r) => r.machineBusyBeforePercent),
      machineBusyAtMaxPercent: runs.map((r) => r.produceMax?.cpu.machineBusyPercent ?? Number.NaN),
      brokerCoresAtMax: runs.map((r) => r.produceMax?.cpu.brokerCores ?? Number.NaN),
    },
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv);
  const machine = machineInfo(o.dataParent);
  const started = new Date();
  log(`${machine.cores} cores, ${machine.cpuModel}, node ${machine.node}; ${o.runs} run(s); data on ${machine.dataFs}`);
  const runs: RunResult[] = [];
  for (let i = 1; i <= o.runs; i++) runs.push(await oneRun(o, i, false));
  let profile: { file: string; totalMs: number; idleMs: number; top: SelfTime[]; run: RunResult } | undefined;
  if (o.profile) {
    const profiledRun = await oneRun(o, o.runs + 1, true);
    const file = latestProfile(o.profileDir);
    if (file) profile = { file, ...topSelfTime(file, 25, REPO), run: profiledRun };
    else log('no .cpuprofile was written (did the broker exit cleanly?)');
  }
  const summary = summarizeRuns(runs);
  const report = {
    bench: 'produce-consume',
    date: started.toISOString(),
    machine,
    settings: { ...o, profileDir: undefined, dataParent: undefined, write: undefined, quietWait: undefined },
    units: 'MiB = 2^20 bytes of record values (wire figures count whole batches); latency in ms',
    summary,
    runs,
    profile,
  };
  const json = JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (profile) {
    process.stdout.write(`\nTop self time in the broker (profile ${profile.file}, ${profile.totalMs} ms busy, ${profile.idleMs} ms idle):\n`);
    for (const t of profile.top) process.stdout.write(`  ${t.percent.toFixed(1).padStart(5)}%  ${String(t.selfMs).padStart(7)} ms  ${t.function}  ${t.location}\n`);
  }
  if (!o.write || runs.length === 0) return;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = started.toISOString().slice(0, 16).replace(/:/g, '').replace('T', '-');
  const file = join(RESULTS_DIR, `produce-consume-${stamp}.json`);
  writeFileSync(file, `${json}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${json}\n`);
  writeDocsSection(DOCS_FILE, { date: started, machine, settings: o, summary, resultsFile: `bench/results/produce-consume-${stamp}.json` });
  log(`wrote ${file}, bench/results/latest.json and docs/benchmarks.md`);
}

main().catch((err: Error) => {
  process.stderr.write(`[bench] failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
