// Writes the produce/consume figures into their own section of docs/benchmarks.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { MachineInfo } from './machine.js';

export interface Summary {
  runs: number;
  produceMiBps: number;
  produceRecordsPerSec: number;
  pacedMiBps: number;
  produceP50Ms: number;
  produceP99Ms: number;
  produceP999Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  consumeMiBps: number;
  consumeRecordsPerSec: number;
  idleRssMiB: number;
  loadedRssMiB: number;
  loadedHwmMiB: number;
  perRun: Record<string, number[]>;
}

export interface DocsInput {
  date: Date;
  machine: MachineInfo;
  settings: {
    runs: number; partitions: number; batchRecords: number; recordBytes: number; acks: number;
    workers: number; connections: number; depth: number; warmup: number; duration: number; consumeConnections: number;
  };
  summary: Summary;
  resultsFile: string;
}

const START = '<!-- produce-consume:start -->';
const END = '<!-- produce-consume:end -->';
const PREAMBLE = `# Benchmarks

Figures on this page are written by the benchmark scripts in \`bench/\`; each script owns the
section between its markers and rewrites it on every run. Raw results are in \`bench/results/\`.

## Produce / consume (\`bench/produce-consume.ts\`)

`;

function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

function runsOf(values: number[] | undefined, digits = 1): string {
  return values && values.length ? values.map((v) => fmt(v, digits)).join(' / ') : '';
}

type Verdict = 'yes' | 'no' | 'not measured';

function verdict(v: number, ok: (v: number) => boolean): Verdict {
  return Number.isFinite(v) ? (ok(v) ? 'yes' : 'no') : 'not measured';
}

export function renderSection(d: DocsInput): string {
  const s = d.summary;
  const m = d.machine;
  const o = d.settings;
  const rows: string[][] = [
    ['Produce throughput, max rate (MiB/s)', '≥ 300', fmt(s.produceMiBps), runsOf(s.perRun.produceMiBps), verdict(s.produceMiBps, (v) => v >= 300)],
    ['Produce records/s, max rate', '', fmt(s.produceRecordsPerSec, 0), '', ''],
    ['Produce latency p50 at half of max rate (ms)', '', fmt(s.produceP50Ms, 2), '', ''],
    ['Produce latency p99 at half of max rate (ms)', '< 10', fmt(s.produceP99Ms, 2), runsOf(s.perRun.produceP99Ms, 2), verdict(s.produceP99Ms, (v) => v < 10)],
    ['Produce latency p99.9 at half of max rate (ms)', '', fmt(s.produceP999Ms, 2), '', ''],
    ['End-to-end latency p50, produce → tailing fetch (ms)', '', fmt(s.e2eP50Ms), '', ''],
    ['End-to-end latency p99 (ms)', '', fmt(s.e2eP99Ms), runsOf(s.perRun.e2eP99Ms), ''],
    ['Consume throughput from offset 0 (MiB/s)', '≥ 600', fmt(s.consumeMiBps), runsOf(s.perRun.consumeMiBps), verdict(s.consumeMiBps, (v) => v >= 600)],
    ['Consume records/s', '', fmt(s.consumeRecordsPerSec, 0), '', ''],
    ['Broker RSS idle (MiB)', '< 150', fmt(s.idleRssMiB), runsOf(s.perRun.idleRssMiB), verdict(s.idleRssMiB, (v) => v < 150)],
    ['Broker RSS peak sampled during max-rate produce (MiB)', '', fmt(s.loadedRssMiB), '', ''],
    ['Broker VmHWM after max-rate produce (MiB)', '', fmt(s.loadedHwmMiB), '', ''],
  ];
  const table = [
    `| Metric | Target | Median of ${s.runs} run${s.runs === 1 ? '' : 's'} | Each run | Target met |`,
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const met = rows.filter((r) => r[4] === 'yes').length;
  const judged = rows.filter((r) => r[4] === 'yes' || r[4] === 'no').length;
  return `${START}
Measured ${d.date.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM,
Node.js ${m.node}, Linux ${m.kernel}; broker data on ${m.dataFs}. Client and broker share the machine.
Raw figures: \`${d.resultsFile}\`.

Setup: one broker (\`node dist/api/cli/main.js serve\`, fresh data directory per run), topic with
${o.partitions} partitions, ${o.recordBytes}-byte random (incompressible) record values, ${o.batchRecords} records per
uncompressed batch, one batch per Produce v9 request, acks=${o.acks}. Load comes from ${o.workers} worker thread(s) × ${o.connections}
connections sending pre-encoded requests; at max rate each connection keeps ${o.depth} requests in flight
(${o.warmup} s warm-up, ${o.duration} s measured). Latency phases run open loop at half the measured max request
rate, timed from each request's scheduled send time. End-to-end latency is batch timestamp → arrival of the
Fetch response that carries it, at the same half rate, with a long-polling tailer over all partitions
(whole-millisecond timestamps: each sample may read up to 1 ms high). Consume reads everything written in the
run from offset 0 over ${o.consumeConnections} connections (Fetch v12, 64 MiB per response); the data is in the page cache by then.
MiB = 2^20 bytes of record values.

${table}

${met} of ${judged} targets met.

Conditions per run: machine CPU busy before start ${runsOf(s.perRun.machineBusyBeforePercent, 0)} %; during max-rate produce
${runsOf(s.perRun.machineBusyAtMaxPercent, 0)} % of all cores busy, of which the broker used ${runsOf(s.perRun.brokerCoresAtMax, 2)} cores.
${END}`;
}

/** Replaces this bench's section of the docs page, creating the page if needed. */
export function writeDocsSection(file: string, d: DocsInput): void {
  const section = renderSection(d);
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const a = old.indexOf(START);
  const b = old.indexOf(END);
  let text: string;
  if (a >= 0 && b > a) text = old.slice(0, a) + section + old.slice(b + END.length);
  else if (old) text = `${old.trimEnd()}\n\n## Produce / consume (\`bench/produce-consume.ts\`)\n\n${section}\n`;
  else text = `${PREAMBLE}${section}\n`;
  writeFileSync(file, text);
}
