// Stream functions in a cluster: two real `floe serve` processes on one data dir and one real
// PostgreSQL. A function deployed through broker 1 runs a group member on both brokers, which
// split the input partitions; after kill -9 of broker 1 the survivor takes every partition and
// the results are complete. Pause/resume/delete sent to broker 2 reach the member on broker 1.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { waitFor } from './helpers.js';

const { Kafka, logLevel } = kafkajs;
const exec = promisify(execFile);
const TOTAL = 600;
const PARTITIONS = 4;

const FN_SOURCE = `import { defineFunction } from 'floe/functions';

export default defineFunction({
  name: 'clu',
  table: { primaryKey: 'id', columns: [{ name: 'id', type: 'string' }, { name: 'n', type: 'int' }] },
  process(record, ctx) {
    const e = record.json<{ id: string; n: number }>();
    // Slow enough that the kill lands mid-stream.
    const until = Date.now() + 15;
    while (Date.now() < until) {}
    ctx.upsert(undefined, [{ id: e.id, n: e.n }]);
    ctx.emit(undefined, { key: e.id, value: { id: e.id, n: e.n } });
  },
});
`;

interface GroupMemberView {
  memberId: string;
  node: number | null;
  partitions: Array<{ topic: string; partition: number; committed: number; highWatermark: number; lag: number }>;
}
interface Status {
  state: string;
  version: number;
  group: { state: string; error: string | null; members: GroupMemberView[] };
}

const run = postgresAvailable();
let pg: PostgresHandle;
let dataDir: string;
let work: string;
const brokers = new Map<number, BrokerHandle>();

async function floe(id: number, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const b = brokers.get(id)!;
  return exec(process.execPath, [join(REPO_ROOT, 'bin/floe.js'), ...args, '--api', `http://127.0.0.1:${b.httpPort}`, '--data-dir', dataDir], { cwd: work });
}

async function api<T>(id: number, path: string): Promise<T> {
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
  const res = await fetch(`http://127.0.0.1:${brokers.get(id)!.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function status(id: number): Promise<Status> {
  return JSON.parse((await floe(id, 'fn', 'status', 'clu', '--json')).stdout) as Status;
}

/** node -> sorted partitions, from the group as one broker sees it. */
function split(s: Status): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const m of s.group.members) out.set(m.node ?? -1, m.partitions.map((p) => p.partition).sort((a, b) => a - b));
  return out;
}

function logsOnFailure<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: Error) => {
    const tail = [...brokers].map(([id, b]) => `--- broker ${id} ---\n${b.logs().slice(-4000)}`).join('\n');
    throw new Error(`${err.message}\n${tail}`);
  });
}

beforeAll(async () => {
  if (!run) return;
  pg = await startPostgres();
  const url = await pg.createDatabase('fncluster');
  dataDir = await mkdtemp(join(tmpdir(), 'floe-fn-cluster-'));
  work = await mkdtemp(join(tmpdir(), 'floe-fn-cluster-work-'));
  const env = { FLOE_LEASE_TTL_MS: '2000', FLOE_HEARTBEAT_MS: '300', FLOE_FN_SESSION_TIMEOUT_MS: '6000', FLOE_FN_HEARTBEAT_MS: '500' };
  for (const id of [1, 2]) brokers.set(id, await startBroker({ dataDir, args: ['--control', url, '--node-id', String(id)], env }));
}, 120_000);

afterAll(async () => {
  for (const b of brokers.values()) await b.kill().catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
  await pg?.stop();
});

describe.skipIf(!run)('stream functions on two brokers', () => {
  it('splits partitions between brokers, survives kill -9 of one: one row per input, outputs at least once', async () => {
    const bootstrap = [...brokers.values()].map((b) => b.bootstrap);
    const kafka = new Kafka({ clientId: 'fn-cluster', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();

    await writeFile(join(work, 'clu.ts'), FN_SOURCE);
    const dep = await logsOnFailure(floe(1, 'fn', 'deploy', 'clu.ts', '--name', 'clu', '-i', 'events', '-o', 'events-out', '--table', 'clu_t', '--limit', 'maxBatchRecords=10'));
    expect(dep.stdout).toContain('deployed clu v1');

    // Both brokers run a member; the four partitions are split between them. Asked of broker 2.
    const before = await logsOnFailure(
      waitFor(
        'a member on each broker with partitions split',
        async () => {
          const s = await status(2);
          const m = split(s);
          const all = [...m.values()].flat().sort((a, b) => a - b);
          return m.size === 2 && m.has(1) && m.has(2) && m.get(1)!.length > 0 && m.get(2)!.length > 0 && all.join() === '0,1,2,3' ? m : undefined;
        },
        60_000,
      ),
    );
    expect(new Set([...before.values()].flat()).size).toBe(PARTITIONS);
    const text = (await floe(1, 'fn', 'status', 'clu')).stdout;
    expect(text).toMatch(/group floe-fn-clu: Stable, 2 member\(s\)/);

    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: TOTAL }, (_, i) => ({ key: `e${i}`, value: JSON.stringify({ id: `e${i}`, n: i }) }));
    for (let i = 0; i < TOTAL; i += 100) await producer.send({ topic: 'events', acks: -1, messages: messages.slice(i, i + 100) });
    await producer.disconnect();

    // Mid-stream: both brokers have committed progress, and broker 1 still has work left, which
    // the survivor must then pick up from broker 1's last commits.
    const atKill = await logsOnFailure(
      waitFor('progress on both brokers, broker 1 not done', async () => {
        // Straight over HTTP: polling through the CLI is slower than the function.
        const s = await api<Status>(2, '/v1/functions/clu');
        const done = s.group.members.map((m) => m.partitions.reduce((n, p) => n + Math.max(0, p.committed), 0));
        const one = s.group.members.find((m) => m.node === 1);
        const left1 = one ? one.partitions.reduce((n, p) => n + p.highWatermark - Math.max(0, p.committed), 0) : 0;
        return done.length === 2 && done.every((n) => n > 0) && left1 > 0 ? { done, left1 } : undefined;
      }),
    );
    await brokers.get(1)!.kill();
    expect(atKill.left1).toBeGreaterThan(0);

    // The survivor takes every partition after the session timeout / lease TTL.
    await logsOnFailure(
      waitFor(
        'broker 2 owning all partitions',
        async () => {
          const m = split(await status(2));
          return m.size === 1 && m.get(2)?.join() === '0,1,2,3' ? true : undefined;
        },
        60_000,
      ),
    );

    const rows = await logsOnFailure(
      waitFor(
        'every input in the table',
        async () => {
          const t = await api<{ stats: { rows: number } }>(2, '/v1/tables/clu_t');
          return t.stats.rows >= TOTAL ? t.stats.rows : undefined;
        },
        120_000,
      ),
    );
    expect(rows).toBe(TOTAL);
    await logsOnFailure(
      waitFor('lag 0 on every partition', async () => {
        const s = await status(2);
        return s.group.members.length === 1 && s.group.members[0]!.partitions.every((p) => p.lag === 0 && p.committed === p.highWatermark) ? true : undefined;
      }),
    );
    // Replays after the kill rewrote rows, never added any.
    expect((await api<{ stats: { rows: number } }>(2, '/v1/tables/clu_t')).stats.rows).toBe(TOTAL);

    const consumer = kafka.consumer({ groupId: 'fn-cluster-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'events-out', fromBeginning: true });
    const seen = new Map<string, number>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.key!.toString();
        seen.set(id, (seen.get(id) ?? 0) + 1);
      },
    });
    await waitFor('every output', () => seen.size === TOTAL, 60_000);
    await consumer.disconnect();
    for (let i = 0; i < TOTAL; i++) expect(seen.get(`e${i}`) ?? 0).toBeGreaterThanOrEqual(1);
  }, 400_000);

  it('pause, resume and delete sent to broker 2 reach the member on broker 1', async () => {
    await logsOnFailure(brokers.get(1)!.restart());
    await logsOnFailure(
      waitFor(
        'broker 1 running a member again',
        async () => {
          const m = split(await status(1));
          return m.has(1) && m.get(1)!.length > 0 && m.has(2) ? true : undefined;
        },
        60_000,
      ),
    );

    expect((await floe(2, 'fn', 'pause', 'clu')).stdout).toContain('paused');
    await logsOnFailure(
      waitFor('broker 1 paused with no members left', async () => {
        const s = await api<Status>(1, '/v1/functions/clu');
        return s.state === 'paused' && s.group.members.length === 0 ? true : undefined;
      }),
    );

    expect((await floe(2, 'fn', 'resume', 'clu')).stdout).toContain('running');
    await logsOnFailure(
      waitFor('broker 1 running a member after resume', async () => {
        const s = await api<Status>(1, '/v1/functions/clu');
        const m = split(s);
        return s.state === 'running' && m.has(1) && m.get(1)!.length > 0 ? true : undefined;
      }),
    );

    expect((await floe(2, 'fn', 'delete', 'clu')).stdout).toContain('deleted clu');
    await logsOnFailure(
      waitFor('broker 1 no longer lists the function', async () => {
        const list = await api<{ functions: unknown[] }>(1, '/v1/functions');
        return list.functions.length === 0 ? true : undefined;
      }),
    );
    // Broker 1's member stops too: the group empties (asked with `floe group describe`).
    await logsOnFailure(
      waitFor('the group without members', async () => {
        const out = await exec(process.execPath, [join(REPO_ROOT, 'bin/floe.js'), 'group', 'describe', 'floe-fn-clu', '--json', '-X', brokers.get(1)!.bootstrap], { cwd: work });
        return (JSON.parse(out.stdout) as { members: unknown[] }).members.length === 0 ? true : undefined;
      }),
    );
  }, 240_000);
});
