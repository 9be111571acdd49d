// Tables on a cluster: three `floe serve` processes on one shared data dir and a real PostgreSQL.
// A table made through one broker is served by all; writes go through any broker; the input
// topic is applied once; the changelog's leader is SIGKILLed while writes continue.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { waitFor } from './fixture.js';
import { AnnPool } from '../../vector/ann-pool.js';
import { MemoryChangelog } from '../../vector/changelog.js';
import { Table } from '../../vector/table.js';

const TTL_MS = 2000;
const TOKEN = 'tables-cluster-token';
const IDS = [1, 2, 3];
let pg: PostgresHandle;
let dataDir: string;
const brokers = new Map<number, BrokerHandle>();

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('tables_cluster');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-tables-cluster-'));
  for (const id of IDS) {
    brokers.set(
      id,
      await startBroker({
        dataDir,
        args: ['--control', url, '--node-id', String(id)],
        env: { FLOE_LEASE_TTL_MS: String(TTL_MS), FLOE_HEARTBEAT_MS: '300', FLOE_API_TOKENS: TOKEN, ...(process.env.FLOE_TEST_DUMP === '1' ? { FLOE_LOG_LEVEL: 'debug' } : {}) },
      }),
    );
  }
});

afterAll(async () => {
  if (process.env.FLOE_TEST_DUMP === '1') for (const [id, b] of brokers) console.log(`--- broker ${id}\n${b.logs()}`);
  for (const b of brokers.values()) await b.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await pg?.stop();
});

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function call(id: number, method: string, url: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${brokers.get(id)!.httpPort}${url}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const items = {
  name: 'items',
  primaryKey: 'sku',
  columns: [
    { name: 'sku', type: 'string' },
    { name: 'price', type: 'float' },
  ],
  vectors: [{ name: 'emb', dim: 4, metric: 'cosine' }],
};

/** What a broker answers for the whole table: every row in key order, a search, a count. */
async function answers(id: number): Promise<string> {
  const scan = await call(id, 'POST', '/v1/tables/items/scan', { limit: 1000 });
  const search = await call(id, 'POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 5 });
  const count = await call(id, 'GET', '/v1/tables/items/count');
  if (scan.status !== 200 || search.status !== 200 || count.status !== 200) throw new Error(`broker ${id}: ${scan.status}/${search.status}/${count.status}`);
  return JSON.stringify({ rows: scan.body.rows, hits: search.body.hits.map((h: { key: string; score: number }) => [h.key, h.score.toFixed(6)]), count: count.body.count });
}

async function changelogLeader(): Promise<number> {
  const kafka = new Kafka({ brokers: IDS.map((i) => brokers.get(i)!.bootstrap), clientId: 'tables-cluster', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await waitFor('a changelog leader', async () => {
      const md = await admin.fetchTopicMetadata({ topics: ['_floe.table.items.changelog'] });
      const leader = md.topics[0]?.partitions[0]?.leader ?? -1;
      return leader > 0 ? leader : undefined;
    });
  } finally {
    await admin.disconnect();
  }
}

describe('tables in a cluster', () => {
  it('a table created through one broker is served, written and searched through every broker', async () => {
    const created = await call(1, 'POST', '/v1/tables', items);
    expect(created.status).toBe(201);
    for (const id of [2, 3]) {
      await waitFor(`broker ${id} to list the table`, async () => {
        const r = await call(id, 'GET', '/v1/tables');
        return r.body.tables.some((t: { name: string }) => t.name === 'items') ? true : undefined;
      }, 10_000);
    }

    // Written through broker 2 (whichever broker leads the changelog).
    const w = await call(2, 'POST', '/v1/tables/items/rows', {
      rows: [
        { sku: 'a', price: 1, emb: [1, 0, 0, 0] },
        { sku: 'b', price: 2, emb: [0.9, 0.1, 0, 0] },
        { sku: 'c', price: 3, emb: [0, 1, 0, 0] },
      ],
    });
    expect(w.status).toBe(200);
    expect(w.body.count).toBe(3);

    for (const id of IDS) {
      // Read-your-writes on every broker: strong waits for this broker's replica to apply the offset.
      const s = await call(id, 'POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 2, consistency: 'strong', after_offset: w.body.offset });
      expect(s.status).toBe(200);
      expect(s.body.hits.map((h: { key: string }) => h.key)).toEqual(['a', 'b']);
      expect((await call(id, 'GET', '/v1/tables/items/rows/c')).body.row).toEqual({ sku: 'c', price: 3 });
    }
  });

  it('a column added through one broker is taken up by the others', async () => {
    const added = await call(3, 'POST', '/v1/tables/items/columns', { name: 'note', type: 'string' });
    expect(added.status).toBeLessThan(300);
    // Written at once through another broker: the row must not be skipped as invalid anywhere.
    const w = await call(1, 'POST', '/v1/tables/items/rows', { rows: [{ sku: 'c', price: 3, note: 'hi', emb: [0, 1, 0, 0] }] });
    expect(w.status).toBe(200);
    for (const id of IDS) {
      await call(id, 'POST', '/v1/tables/items/search', { vector: [0, 1, 0, 0], k: 1, consistency: 'strong', after_offset: w.body.offset });
      expect((await call(id, 'GET', '/v1/tables/items/rows/c')).body.row).toEqual({ sku: 'c', price: 3, note: 'hi' });
      expect((await call(id, 'GET', '/v1/tables/items')).body.stats.invalidEntries).toBe(0);
    }
  });

  it('applies JSON produced to the input topic once, visible on every broker', async () => {
    const kafka = new Kafka({ brokers: [brokers.get(3)!.bootstrap], clientId: 'tables-cluster', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: '_floe.table.items.in',
        messages: [
          { key: 'd', value: JSON.stringify({ sku: 'd', price: 4, emb: [0, 0, 1, 0] }) },
          { key: 'e', value: JSON.stringify({ sku: 'e', price: 5, emb: [0, 0, 0, 1] }) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    for (const id of IDS) {
      await waitFor(`broker ${id} to see input rows`, async () => {
        if ((await call(id, 'GET', '/v1/tables/items/count')).body.count === 5) return true;
        throw new Error(`stats ${JSON.stringify((await call(id, 'GET', '/v1/tables/items')).body.stats)}`);
      }, 20_000);
      expect((await call(id, 'GET', '/v1/tables/items/rows/e')).body.row).toEqual({ sku: 'e', price: 5, note: null });
    }
    // Applied by exactly one broker: each input record became exactly one changelog entry.
    const kafkaRead = new Kafka({ brokers: [brokers.get(1)!.bootstrap], clientId: 'tables-cluster-read', logLevel: logLevel.NOTHING });
    const admin = kafkaRead.admin();
    await admin.connect();
    try {
      const offs = await admin.fetchTopicOffsets('_floe.table.items.changelog');
      expect(Number(offs[0]!.high)).toBe(6);
    } finally {
      await admin.disconnect();
    }
  });

  it('keeps taking writes through a survivor when the changelog leader is SIGKILLed, and all brokers agree after its restart', async () => {
    const leader = await changelogLeader();
    const survivor = IDS.find((id) => id !== leader)!;
    await brokers.get(leader)!.kill();
    // The router retries until a new leader holds the changelog (after the lease TTL).
    const w = await call(survivor, 'POST', '/v1/tables/items/rows', { rows: [{ sku: 'f', price: 6, emb: [0.7, 0.7, 0, 0] }] });
    expect(w.status).toBe(200);
    const d = await call(survivor, 'DELETE', '/v1/tables/items/rows', { keys: ['b'] });
    expect(d.status).toBe(200);
    for (const id of IDS.filter((i) => i !== leader)) {
      const s = await call(id, 'POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 10, consistency: 'strong', after_offset: d.body.offset });
      expect(s.status).toBe(200);
      expect(s.body.hits.map((h: { key: string }) => h.key).sort()).toEqual(['a', 'c', 'd', 'e', 'f']);
    }

    await brokers.get(leader)!.restart();
    const expected = await answers(survivor);
    expect(JSON.parse(expected).count).toBe(5);
    for (const id of IDS) {
      await waitFor(`broker ${id} to answer like the others`, async () => ((await answers(id)) === expected ? true : undefined), 20_000);
    }
  });

  it('sees a drop made through another broker', async () => {
    expect((await call(2, 'DELETE', '/v1/tables/items')).status).toBeLessThan(300);
    for (const id of [1, 3]) {
      await waitFor(`broker ${id} to forget the table`, async () => ((await call(id, 'GET', '/v1/tables/items')).status === 404 ? true : undefined), 10_000);
    }
  });
});

describe('table snapshots on a shared data dir', () => {
  it('only the replica allowed to (the changelog leader) writes or prunes snapshots; the other builds in memory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-snap-owner-'));
    const pool = new AnnPool(1);
    try {
      const changelog = new MemoryChangelog();
      let leading = true;
      const writer = await Table.create(items, { dir, changelog, pool, autoIndex: false, writesSnapshots: () => leading });
      await writer.upsert([{ sku: 'a', price: 1, emb: [1, 0, 0, 0] }]);
      await writer.checkpoint();
      const snaps = () => (existsSync(path.join(dir, 'snapshots')) ? readdirSync(path.join(dir, 'snapshots')) : []);
      const first = snaps();
      expect(first).toHaveLength(1);

      // A follower on the same dir loads that snapshot, then tails; its builds stay in memory.
      const follower = await Table.open({ dir, changelog, pool, autoIndex: false, writesSnapshots: () => false });
      await writer.upsert([{ sku: 'b', price: 2, emb: [0, 1, 0, 0] }]);
      await follower.catchUp();
      await follower.checkpoint();
      expect(follower.stats()).toMatchObject({ rows: 2, tailRows: 0, snapshotOffset: 1 });
      expect(snaps()).toEqual(first);
      expect((await follower.search({ vector: [0, 1, 0, 0], k: 1 }))[0]!.key).toBe('b');

      // Leadership gone: the former writer stops writing snapshots too.
      leading = false;
      await writer.upsert([{ sku: 'c', price: 3, emb: [0, 0, 1, 0] }]);
      await writer.checkpoint();
      expect(snaps()).toEqual(first);
      await follower.close();
      await writer.close();
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
