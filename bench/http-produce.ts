// HTTP API benchmark: produce small JSON records in batches of 1 and 100, and a metadata GET,
// against a `floe serve` child process. Writes bench/results/http-<date>.json.
// Run: node --import tsx bench/http-produce.ts   (BENCH_DURATION=seconds, BENCH_CONNECTIONS=n)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { machineInfo } from './lib/machine.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TOKEN = 'bench-token';
const TOPIC = 'bench-http';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('broker did not become ready');
}

interface Row {
  scenario: string;
  batch: number;
  connections: number;
  durationS: number;
  requestsPerSec: number;
  recordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function run(scenario: string, batch: number, url: string, method: string, body?: string): Promise<Row> {
  const r = await autocannon({
    url,
    method,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body } : {}),
  });
  const row: Row = {
    scenario,
    batch,
    connections: CONNECTIONS,
    durationS: DURATION,
    requestsPerSec: Math.round(r.requests.average),
    recordsPerSec: Math.round(r.requests.average * batch),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
  console.log(JSON.stringify(row));
  return row;
}

const records = (n: number): string => JSON.stringify({ records: Array.from({ length: n }, (_, i) => ({ key: `user-${i % 50}`, value: { id: i, event: 'click', page: '/home', ts: 1_700_000_000_000 + i } })) });

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-bench-http-'));
  const [kafkaPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'api/cli/main.ts'), 'serve', '--data-dir', dataDir, '--kafka-port', String(kafkaPort), '--http-port', String(httpPort), '--log-level', 'warn'],
    { env: { ...process.env, FLOE_API_TOKENS: TOKEN }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(base);
    const created = await fetch(`${base}/v1/topics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: TOPIC, partitions: 3 }) });
    if (created.status !== 201) throw new Error(`create topic: ${created.status} ${await created.text()}`);
    const rows = [
      await run('produce', 1, `${base}/v1/topics/${TOPIC}/records`, 'POST', records(1)),
      await run('produce', 100, `${base}/v1/topics/${TOPIC}/records`, 'POST', records(100)),
      await run('metadata GET /v1/topics/:topic', 0, `${base}/v1/topics/${TOPIC}`, 'GET'),
    ];
    const date = new Date().toISOString().slice(0, 10);
    mkdirSync(join(REPO, 'bench/results'), { recursive: true });
    const file = join(REPO, `bench/results/http-${date}.json`);
    writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(dataDir), valueBytes: Buffer.byteLength(JSON.stringify({ id: 0, event: 'click', page: '/home', ts: 1_700_000_000_000 })), rows }, null, 2) + '\n');
    console.log(`\nwrote ${file}\n`);
    console.log('| scenario | batch | conns | req/s | records/s | p50 ms | p99 ms | non-2xx |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.scenario} | ${r.batch || '-'} | ${r.connections} | ${r.requestsPerSec} | ${r.batch ? r.recordsPerSec : '-'} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} |`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
