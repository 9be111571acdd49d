// End to end against a real `floe serve` process: deploy a TypeScript file through the CLI,
// produce with kafkajs, kill -9 mid-processing, restart, and check the table and output topic.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { waitFor } from './helpers.js';

const { Kafka, logLevel } = kafkajs;
const exec = promisify(execFile);
const TOTAL = 400;

const FN_SOURCE = `import { defineFunction } from 'floe/functions';

interface Order { id: string; amount: number }

export default defineFunction({
  name: 'orders',
  table: { primaryKey: 'id', columns: [{ name: 'id', type: 'string' }, { name: 'amount', type: 'float' }, { name: 'offset', type: 'int' }] },
  process(record, ctx) {
    const o = record.json<Order>();
    // Slow enough that a kill lands mid-stream.
    const until = Date.now() + 5;
    while (Date.now() < until) {}
    ctx.upsert(undefined, [{ id: o.id, amount: o.amount * Number(ctx.vars.factor ?? '1'), offset: record.offset }]);
    ctx.emit(undefined, { key: o.id, value: { id: o.id, doubled: o.amount * 2 } });
  },
});
`;

let broker: BrokerHandle;
let work: string;

async function floe(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [join(REPO_ROOT, 'bin/floe.js'), ...args, '--api', `http://127.0.0.1:${broker.httpPort}`, '--data-dir', broker.dataDir], { cwd: work });
}

async function api<T>(path: string): Promise<T> {
  const token = (await readFile(join(broker.dataDir, 'api-token'), 'utf8')).trim();
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'floe-fn-cli-'));
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('floe fn against a running server', () => {
  it('deploys through the CLI, survives kill -9: one row per input, outputs at least once', async () => {
    await writeFile(join(work, 'orders.ts'), FN_SOURCE);
    const kafka = new Kafka({ clientId: 'fn-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const dep = await floe('fn', 'deploy', 'orders.ts', '--name', 'orders', '-i', 'orders', '-o', 'orders-out', '--table', 'orders_t', '--var', 'factor=1');
    expect(dep.stdout).toContain('deployed orders v1 (running)');
    expect(dep.stderr).toContain('bundling orders.ts');

    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: TOTAL }, (_, i) => ({ key: `o${i}`, value: JSON.stringify({ id: `o${i}`, amount: i }) }));
    for (let i = 0; i < TOTAL; i += 100) await producer.send({ topic: 'orders', acks: -1, messages: messages.slice(i, i + 100) });
    await producer.disconnect();

    await waitFor('some records processed', async () => (await api<{ totals: { processed: number } }>('/v1/functions/orders')).totals.processed >= 40);
    await broker.kill();
    await broker.restart();

    const rows = await waitFor(
      'every input in the table',
      async () => {
        const t = await api<{ stats: { rows: number } }>('/v1/tables/orders_t');
        return t.stats.rows === TOTAL ? t.stats.rows : undefined;
      },
      90_000,
    );
    expect(rows).toBe(TOTAL);
    await new Promise((r) => setTimeout(r, 1_000));
    // Still exactly one row per input once the replayed tail has been applied.
    expect((await api<{ stats: { rows: number } }>('/v1/tables/orders_t')).stats.rows).toBe(TOTAL);

    const consumer = kafka.consumer({ groupId: 'fn-e2e-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders-out', fromBeginning: true });
    const seen = new Map<string, number>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.key!.toString();
        seen.set(id, (seen.get(id) ?? 0) + 1);
      },
    });
    await waitFor('every output', () => seen.size === TOTAL, 60_000);
    await consumer.disconnect();
    for (const [, count] of seen) expect(count).toBeGreaterThanOrEqual(1);

    const status = JSON.parse((await floe('fn', 'status', 'orders', '--json')).stdout) as { version: number; state: string; totals: { lag: number } };
    expect(status).toMatchObject({ version: 1, state: 'running' });
    await waitFor('lag 0', async () => (await api<{ totals: { lag: number } }>('/v1/functions/orders')).totals.lag === 0);
    expect((await floe('fn', 'list')).stdout).toMatch(/orders\s+v1\s+running\s+bundle/);
    expect((await floe('fn', 'logs', 'orders')).stdout).toMatch(/started v1/);
  });

  it('pause, resume, redeploy and rollback through the CLI', async () => {
    expect((await floe('fn', 'pause', 'orders')).stdout).toContain('paused');
    expect((await floe('fn', 'resume', 'orders')).stdout).toContain('running');
    const v2 = await floe('fn', 'deploy', 'orders.ts', '--name', 'orders', '-i', 'orders', '-o', 'orders-out', '--table', 'orders_t', '--var', 'factor=10');
    expect(v2.stdout).toContain('deployed orders v2');
    expect((await floe('fn', 'versions', 'orders')).stdout).toMatch(/v1\s*\n\s*v2\s+\*/);
    expect((await floe('fn', 'rollback', 'orders@v1')).stdout).toContain('now runs v1');
    const bad = await floe('fn', 'rollback', 'orders@v9').then(
      () => null,
      (err: { stderr: string; code: number }) => err,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/no version 9/);
    expect((await floe('fn', 'delete', 'orders')).stdout).toContain('deleted orders');
    expect((await floe('fn', 'list', '--json')).stdout.trim()).toBe('[]');
  });

  it('writes a template that deploys as is', async () => {
    const init = await exec(process.execPath, [join(REPO_ROOT, 'bin/floe.js'), 'fn', 'init', 'tmpl.ts'], { cwd: work });
    expect(init.stdout).toContain('wrote tmpl.ts');
    const dep = await floe('fn', 'deploy', 'tmpl.ts', '--name', 'tmpl', '-i', 'orders', '-o', 'tmpl-out').catch((err: Error) => {
      throw new Error(`${err.message}\n--- broker log ---\n${broker.logs().slice(-3000)}`);
    });
    expect(dep.stdout).toContain('deployed tmpl v1 (running)');
  });
});
