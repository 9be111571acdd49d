// Tables over the HTTP API and the `floe table` CLI, including bad input (4xx / exit 1 + reason).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/broker.js';
import { runProcess } from '../harness/process.js';
import { startTestNode, type TestNode } from '../http/helpers.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode();
});

afterAll(async () => {
  await t?.close();
});

const items = {
  name: 'items',
  primaryKey: 'sku',
  columns: [
    { name: 'sku', type: 'string' },
    { name: 'price', type: 'float' },
    { name: 'cat', type: 'string' },
  ],
  vectors: [{ name: 'emb', dim: 4, metric: 'cosine' }],
};

describe('HTTP /v1/tables', () => {
  it('creates, lists, describes, alters and drops tables; bad definitions get 400/409', async () => {
    const c = await t.call('POST', '/v1/tables', items);
    expect(c.status).toBe(201);
    expect(c.body.topics.changelog).toBe('_floe.table.items.changelog');
    expect(c.body.schema.primaryKey).toBe('sku');
    expect((await t.call('POST', '/v1/tables', items)).status).toBe(409);

    const badPk = await t.call('POST', '/v1/tables', { ...items, name: 'bad', primaryKey: 'price' });
    expect(badPk.status).toBe(400);
    expect(badPk.body.error_code).toBe('INVALID_SCHEMA');
    expect(badPk.body.message).toMatch(/string or int/);
    expect((await t.call('POST', '/v1/tables', { ...items, name: 'bad', vectors: [{ name: 'e', dim: 4, metric: 'manhattan' }] })).status).toBe(400);
    expect((await t.call('POST', '/v1/tables', { ...items, name: 'bad/x' })).status).toBe(400);

    expect((await t.call('GET', '/v1/tables')).body.tables).toContainEqual({ name: 'items', rows: 0 });
    expect((await t.call('GET', '/v1/tables/nope')).status).toBe(404);
    const added = await t.call('POST', '/v1/tables/items/columns', { name: 'note', type: 'string' });
    expect(added.status).toBe(200);
    expect(added.body.schema.columns.map((x: { name: string }) => x.name)).toEqual(['sku', 'price', 'cat', 'note']);
    expect((await t.call('POST', '/v1/tables/items/columns', { name: 'note', type: 'string' })).status).toBe(400);
    expect((await t.call('GET', '/v1/tables/items', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('writes all-or-nothing, gets, searches with filters, counts and scans with page tokens', async () => {
    const rows = [
      { sku: 'a', price: 1, cat: 'x', emb: [1, 0, 0, 0] },
      { sku: 'b', price: 2, cat: 'y', emb: [0.9, 0.1, 0, 0] },
      { sku: 'c', price: 3, cat: 'x', emb: [0, 1, 0, 0] },
      { sku: 'd', price: 4, cat: 'y', emb: [0, 0, 1, 0] },
    ];
    const w = await t.call('POST', '/v1/tables/items/rows', { rows });
    expect(w.status).toBe(200);
    expect(w.body).toEqual({ offset: 3, count: 4 });

    const bad = await t.call('POST', '/v1/tables/items/rows', { rows: [{ sku: 'e', price: 5, cat: 'x', emb: [1, 0, 0, 0] }, { sku: 'f', price: 'cheap', cat: 'x', emb: [1, 0, 0, 0] }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe('INVALID_ROW');
    expect((await t.call('POST', '/v1/tables/items/rows', { rows: [{ sku: 'g', price: 1, cat: 'x', emb: [1, 0] }] })).body.message).toMatch(/dim/);
    expect((await t.call('POST', '/v1/tables/items/rows', { rows: [{ price: 1, cat: 'x', emb: [1, 0, 0, 0] }] })).status).toBe(400);
    expect((await t.call('GET', '/v1/tables/items/count')).body.count).toBe(4); // nothing partial

    expect((await t.call('GET', '/v1/tables/items/rows/b')).body.row).toEqual({ sku: 'b', price: 2, cat: 'y', note: null });
    expect((await t.call('GET', '/v1/tables/items/rows/b?include_vectors=true')).body.row.emb).toHaveLength(4);
    expect((await t.call('GET', '/v1/tables/items/rows/zz')).status).toBe(404);

    const s = await t.call('POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 2 });
    expect(s.status).toBe(200);
    expect(s.body.hits.map((h: { key: string }) => h.key)).toEqual(['a', 'b']);
    const f = await t.call('POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 2, filter: { eq: { cat: 'x' } } });
    expect(f.body.hits.map((h: { key: string }) => h.key)).toEqual(['a', 'c']);
    expect((await t.call('POST', '/v1/tables/items/search', { vector: [1, 0], k: 2 })).status).toBe(400);
    expect((await t.call('POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], filter: { eq: { nope: 1 } } })).body.error_code).toBe('INVALID_FILTER');
    expect((await t.call('POST', '/v1/tables/items/search', { text: 'hello' })).status).toBe(400);
    expect((await t.call('POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 0 })).status).toBe(400);

    expect((await t.call('POST', '/v1/tables/items/count', { filter: { range: { price: { gte: 2, lt: 4 } } } })).body.count).toBe(2);
    const p1 = await t.call('POST', '/v1/tables/items/scan', { limit: 3 });
    expect(p1.body.rows.map((r: { sku: string }) => r.sku)).toEqual(['a', 'b', 'c']);
    const p2 = await t.call('POST', '/v1/tables/items/scan', { limit: 3, page_token: p1.body.next_page_token });
    expect(p2.body.rows.map((r: { sku: string }) => r.sku)).toEqual(['d']);
    expect(p2.body.next_page_token).toBeUndefined();
    expect((await t.call('POST', '/v1/tables/items/scan', { page_token: 'garbage' })).body.error_code).toBe('INVALID_PAGE_TOKEN');

    const d = await t.call('DELETE', '/v1/tables/items/rows', { keys: ['a'] });
    expect(d.body).toEqual({ offset: 4, count: 1 });
    expect((await t.call('POST', '/v1/tables/items/search', { vector: [1, 0, 0, 0], k: 1 })).body.hits[0].key).toBe('b');
  });

  it('searches by text on a table with the hashing embedder, and drops tables with their topics', async () => {
    const c = await t.call('POST', '/v1/tables', {
      name: 'notes',
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'int' }, { name: 'body', type: 'string' }],
      vectors: [{ name: 'e', dim: 256, metric: 'cosine' }],
      embedder: { column: 'e', source: 'body', model: 'hashing' },
    });
    expect(c.status).toBe(201);
    await t.call('POST', '/v1/tables/notes/rows', { rows: [{ id: 1, body: 'kafka brokers store partitions' }, { id: 2, body: 'cats sleep all day long' }] });
    const s = await t.call('POST', '/v1/tables/notes/search', { text: 'where do kafka brokers store data', k: 1 });
    expect(s.body.hits[0].key).toBe(1);
    expect((await t.call('GET', '/v1/tables/notes/rows/1')).body.row.body).toMatch(/kafka/);
    expect((await t.call('GET', '/v1/tables/notes/rows/x1')).status).toBe(400);

    expect((await t.call('DELETE', '/v1/tables/notes')).status).toBe(204);
    expect((await t.call('GET', '/v1/tables/notes')).status).toBe(404);
    expect(t.node.broker.topics.get('_floe.table.notes.changelog')).toBeUndefined();
    expect(t.node.broker.topics.get('_floe.table.notes.in')).toBeUndefined();
    expect((await t.call('DELETE', '/v1/tables/notes')).status).toBe(404);
  });
});

const CLI = path.join(REPO_ROOT, 'api/cli/main.ts');

function floe(args: string[], input?: string, env: Record<string, string> = {}) {
  return runProcess(process.execPath, ['--import', 'tsx', CLI, ...args], {
    input,
    env: { FLOE_API: t.base, FLOE_API_TOKEN: t.token, ...env },
    allowFailure: true,
    timeoutMs: 60_000,
    cwd: REPO_ROOT,
  });
}

// Each call starts node + tsx from source (seconds apiece on a busy machine): generous timeouts.
describe('floe table (CLI)', { timeout: 240_000 }, () => {
  it('creates, upserts, gets, searches, counts, scans, deletes, describes and drops', async () => {
    let r = await floe(['table', 'create', 'cli_t', '--pk', 'id', '--column', 'id:int', '--column', 'tag:string?', '--vector', 'v:2:l2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).schema.vectors).toEqual([{ name: 'v', dim: 2, metric: 'l2' }]);

    r = await floe(['table', 'upsert', 'cli_t'], '{"id":1,"tag":"a","v":[0,0]}\n{"id":2,"tag":"b","v":[5,5]}\n{"id":3,"tag":"a","v":[1,1]}\n');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ offset: 2, count: 3 });

    r = await floe(['table', 'get', 'cli_t', '2']);
    expect(JSON.parse(r.stdout)).toEqual({ id: 2, tag: 'b' });
    r = await floe(['table', 'search', 'cli_t', '--vector', '[0.9,0.9]', '-k', '2', '--filter', '{"eq":{"tag":"a"}}']);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).key)).toEqual([3, 1]);
    expect((await floe(['table', 'count', 'cli_t'])).stdout).toBe('3\n');
    r = await floe(['table', 'scan', 'cli_t', '--limit', '2', '--all']);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([1, 2, 3]);
    expect((await floe(['table', 'delete', 'cli_t', '--int', '1'])).code).toBe(0);
    expect((await floe(['table', 'count', 'cli_t'])).stdout).toBe('2\n');
    expect(JSON.parse((await floe(['table', 'describe', 'cli_t'])).stdout).stats.rows).toBe(2);
    expect((await floe(['table', 'list'])).stdout).toMatch(/^cli_t\t2$/m);
    expect((await floe(['table', 'drop', 'cli_t'])).code).toBe(0);
  });

  it('reports bad input as one line and exit code 1', async () => {
    await floe(['table', 'create', 'cli_e', '--pk', 'id', '--column', 'id:string', '--vector', 'v:2:l2']);
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [['table', 'upsert', 'cli_e'], '{"id":"x","v":[1,2,3]}\n', /400 INVALID_ROW: .*dim/],
      [['table', 'upsert', 'cli_e'], 'not json\n', /not valid JSON/],
      [['table', 'get', 'cli_e', 'missing'], undefined, /404 ROW_NOT_FOUND/],
      [['table', 'describe', 'nope'], undefined, /404 TABLE_NOT_FOUND/],
      [['table', 'search', 'cli_e', '--text', 'hi'], undefined, /no embedder/],
      [['table', 'search', 'cli_e'], undefined, /exactly one of --vector or --text/],
      [['table', 'create', 'cli_e', '--pk', 'id', '--column', 'id:string'], undefined, /409 TABLE_EXISTS/],
      [['table', 'create', 'x', '--pk', 'id', '--column', 'id'], undefined, /name:type/],
    ];
    for (const [args, input, re] of cases) {
      const r = await floe(args, input);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    const noAuth = await floe(['table', 'list'], undefined, { FLOE_API_TOKEN: 'wrong' });
    expect(noAuth.code).toBe(1);
    expect(noAuth.stderr).toMatch(/^floe: 401/);
    const down = await floe(['table', 'list', '--api', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the HTTP API/);
  });
});
