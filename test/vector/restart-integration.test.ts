// kill -9 a real node (separate process) mid-life and restart it: the table, written over HTTP and
// through its input topic, must answer exactly as before.
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { eventually } from '../http/helpers.js';
import { tableTopics } from '../../vector/table-topics.js';

const TOKEN = 'restart-test-token';
const DIM = 16;
let broker: BrokerHandle;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rand = rng(42);
const vec = (): number[] => Array.from({ length: DIM }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4);

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}${p}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ok(method: string, p: string, body?: unknown): Promise<any> {
  const r = await api(method, p, body);
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const waitHttp = () => eventually(async () => (await fetch(`http://127.0.0.1:${broker.httpPort}/healthz`).catch(() => null))?.ok, 'http api', 60_000);

beforeAll(async () => {
  broker = await startBroker({
    entry: path.join(REPO_ROOT, 'api/cli/main.ts'),
    env: { NODE_OPTIONS: '--import tsx', FLOE_API_TOKENS: TOKEN },
    readyTimeoutMs: 60_000,
  });
  await waitHttp();
});

afterAll(async () => {
  await broker?.stop();
});

describe('table recovery after kill -9', () => {
  it('answers searches, gets, counts and scans identically after a crash and restart', async () => {
    await ok('POST', '/v1/tables', {
      name: 'crash',
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'int' }, { name: 'grp', type: 'int' }],
      vectors: [{ name: 'v', dim: DIM, metric: 'cosine' }],
    });
    // 3000 rows cross the index threshold (2048): a snapshot plus an exact-search tail.
    for (let b = 0; b < 3; b++) {
      const rows = Array.from({ length: 1000 }, (_, i) => ({ id: b * 1000 + i, grp: (b * 1000 + i) % 7, v: vec() }));
      await ok('POST', '/v1/tables/crash/rows', { rows });
    }
    await ok('DELETE', '/v1/tables/crash/rows', { keys: Array.from({ length: 100 }, (_, i) => i * 3) });
    await ok('POST', '/v1/tables/crash/rows', { rows: Array.from({ length: 100 }, (_, i) => ({ id: 1 + i * 3, grp: 99, v: vec() })) });

    // 200 more through the input topic with a plain Kafka producer.
    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'restart-test', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: tableTopics('crash').input,
      messages: Array.from({ length: 200 }, (_, i) => ({ key: String(5000 + i), value: JSON.stringify({ id: 5000 + i, grp: i % 7, v: vec() }) })),
    });
    await producer.disconnect();
    const expected = 3000 - 100 + 200;
    await eventually(async () => (await ok('GET', '/v1/tables/crash/count')).count === expected, 'input rows applied', 30_000);

    const queries = Array.from({ length: 15 }, (_, i) => ({ vector: vec(), k: 10, ...(i % 3 === 0 ? { filter: { eq: { grp: 3 } } } : {}) }));
    const answer = async () => ({
      hits: await Promise.all(queries.map(async (q) => (await ok('POST', '/v1/tables/crash/search', q)).hits.map((h: { key: number; distance: number }) => [h.key, h.distance]))),
      count: (await ok('GET', '/v1/tables/crash/count')).count,
      grp99: (await ok('POST', '/v1/tables/crash/count', { filter: { eq: { grp: 99 } } })).count,
      deleted: (await api('GET', '/v1/tables/crash/rows/0')).status,
      replaced: (await ok('GET', '/v1/tables/crash/rows/1')).row,
      fromInput: (await ok('GET', '/v1/tables/crash/rows/5199')).row,
      page: (await ok('POST', '/v1/tables/crash/scan', { limit: 5, filter: { range: { id: { gte: 4990 } } } })).rows,
    });
    const before = await answer();
    expect(before.count).toBe(expected);
    expect(before.grp99).toBe(100);
    expect(before.deleted).toBe(404);
    expect(before.hits.every((h) => h.length === 10)).toBe(true);

    await broker.kill();
    await broker.restart();
    await waitHttp();
    const after = await answer();
    expect(after).toEqual(before);
  });
});
