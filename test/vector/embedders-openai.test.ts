// The OpenAI-compatible embedder against a local node:http server speaking /v1/embeddings.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import embedFn, { embedTableSpec } from '../../stream-functions/builtins/embed.js';
import type { FnContext, FnRecord } from '../../stream-functions/sdk.js';
import { createEmbedder, HashingEmbedder } from '../../vector/embedder.js';
import { embeddingsUrl, OpenAiEmbedder } from '../../vector/embedders/openai-embedder.js';
import type { OpenAiModelSpec } from '../../vector/embedders/config.js';
import { validateSchema } from '../../vector/schema.js';
import { TableStore } from '../../vector/store.js';
import { tempDir } from './helpers.js';

const DIM = 32;
const KEY_ENV = 'FLOE_TEST_EMBEDDINGS_KEY';
const reference = new HashingEmbedder(DIM);

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: { model: string; input: string[]; dimensions?: number };
}

type Responder = (seen: Seen, res: ServerResponse, n: number) => void;

/** Vectors in reverse order, so a client that ignored `index` would mismatch them. */
const answer: Responder = (seen, res) => {
  const data = seen.body.input.map((t, index) => ({ object: 'embedding', index, embedding: Array.from(reference.embedOne(t)) })).reverse();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ object: 'list', data, model: seen.body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
};

let server: Server;
let base: string;
let seen: Seen[] = [];
let responder: Responder = answer;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(data) as Seen['body'] };
      seen.push(s);
      responder(s, res, seen.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  seen = [];
  responder = answer;
  process.env[KEY_ENV] = 'sk-test-123';
});

afterEach(() => {
  delete process.env[KEY_ENV];
});

function spec(extra: Partial<OpenAiModelSpec> = {}): OpenAiModelSpec {
  return { type: 'openai', url: base, name: 'text-embedding-3-small', apiKeyEnv: KEY_ENV, ...extra };
}

function fail(status: number, message: string, headers: Record<string, string> = {}): (res: ServerResponse) => void {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
  };
}

describe('openai embedder', () => {
  it('posts {model, input} with the key from the named variable and orders vectors by index', async () => {
    const e = new OpenAiEmbedder(spec(), DIM);
    const texts = ['the quick brown fox', 'stock market report', 'a quick brown dog'];
    const vecs = await e.embed(texts);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.url).toBe('/v1/embeddings');
    expect(seen[0]!.auth).toBe('Bearer sk-test-123');
    expect(seen[0]!.body).toEqual({ model: 'text-embedding-3-small', input: texts });
    texts.forEach((t, i) => expect(Array.from(vecs[i]!)).toEqual(Array.from(reference.embedOne(t))));
    expect(await e.embed([])).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('sends dimensions when configured, no auth header without apiKeyEnv, and batches', async () => {
    const e = new OpenAiEmbedder({ type: 'openai', url: base, name: 'small', dimensions: DIM, batch: 2 }, DIM);
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const vecs = await e.embed(texts);
    expect(seen.map((s) => s.body.input)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(seen.every((s) => s.body.dimensions === DIM && s.auth === undefined)).toBe(true);
    texts.forEach((t, i) => expect(Array.from(vecs[i]!)).toEqual(Array.from(reference.embedOne(t))));
  });

  it('builds the endpoint from a base URL, a /v1 base, or a full /embeddings URL', () => {
    expect(embeddingsUrl('http://h:1')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsUrl('http://h:1/')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsUrl('http://h:1/v1')).toBe('http://h:1/v1/embeddings');
    expect(embeddingsUrl('http://h:1/proxy/openai/')).toBe('http://h:1/proxy/openai/v1/embeddings');
    expect(embeddingsUrl('http://h:1/api/embeddings')).toBe('http://h:1/api/embeddings');
  });

  it('retries 429 and 500 with backoff, then succeeds', async () => {
    responder = (s, res, n) => (n === 1 ? fail(429, 'slow down', { 'retry-after': '0' })(res) : n === 2 ? fail(500, 'oops')(res) : answer(s, res, n));
    const [v] = await new OpenAiEmbedder(spec(), DIM).embed(['hello world']);
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.body.input[0] === 'hello world')).toBe(true);
    expect(Array.from(v!)).toEqual(Array.from(reference.embedOne('hello world')));
  });

  it('gives up after the configured retries with the last error', async () => {
    responder = (_s, res) => fail(503, 'overloaded', { 'retry-after': '0' })(res);
    await expect(new OpenAiEmbedder(spec({ retries: 1 }), DIM).embed(['x'])).rejects.toThrow(/HTTP 503: overloaded \(gave up after 2 attempts\)/);
    expect(seen).toHaveLength(2);
  });

  it('fails at once with the server message on 400 and 401', async () => {
    responder = (_s, res) => fail(400, "'input' is too long")(res);
    await expect(new OpenAiEmbedder(spec(), DIM).embed(['x'])).rejects.toThrow(/HTTP 400: 'input' is too long/);
    expect(seen).toHaveLength(1);
    responder = (_s, res) => fail(401, 'Incorrect API key provided')(res);
    await expect(new OpenAiEmbedder(spec(), DIM).embed(['x'])).rejects.toThrow(/HTTP 401 \(check the key in FLOE_TEST_EMBEDDINGS_KEY\): Incorrect API key/);
    expect(seen).toHaveLength(2);
  });

  it('rejects vectors of the wrong length and malformed answers', async () => {
    await expect(new OpenAiEmbedder(spec(), DIM + 1).embed(['x'])).rejects.toThrow(/returned 32-d vectors, column has dim 33/);
    responder = (_s, res) => res.end(JSON.stringify({ data: [{ index: 0, embedding: new Array(DIM).fill(0) }] }));
    await expect(new OpenAiEmbedder(spec(), DIM).embed(['x', 'y'])).rejects.toThrow(/expected 2 embeddings in data\[\], got 1/);
    responder = (_s, res) => res.end(JSON.stringify({ data: [0, 0].map(() => ({ index: 0, embedding: new Array(DIM).fill(0) })) }));
    await expect(new OpenAiEmbedder(spec(), DIM).embed(['x', 'y'])).rejects.toThrow(/bad or repeated index 0/);
  });

  it('needs the named variable to be set, and times out a silent server', async () => {
    delete process.env[KEY_ENV];
    await expect(new OpenAiEmbedder(spec(), DIM).embed(['x'])).rejects.toThrow(/environment variable FLOE_TEST_EMBEDDINGS_KEY \(apiKeyEnv\) is not set/);
    expect(seen).toHaveLength(0);
    process.env[KEY_ENV] = 'k';
    responder = () => undefined; // never answers
    await expect(new OpenAiEmbedder(spec({ timeoutMs: 200, retries: 0 }), DIM).embed(['x'])).rejects.toThrow(/no answer within 200 ms/);
  });

  it('validates the model object: the key never goes in the schema', () => {
    const base2 = { name: 't', primaryKey: 'id', columns: [{ name: 'id', type: 'int' }, { name: 'body', type: 'string' }], vectors: [{ name: 'emb', dim: DIM, metric: 'cosine' }] };
    const withModel = (model: unknown) => ({ ...base2, embedder: { column: 'emb', source: 'body', model } });
    expect(validateSchema(withModel(spec())).embedder!.model).toEqual(spec());
    const bad: Array<[unknown, RegExp]> = [
      [{ ...spec(), apiKey: 'sk-123' }, /do not put the API key in the schema/],
      [{ ...spec(), apiKeyEnv: 'sk-live-abc' }, /NAME of an environment variable/],
      [{ ...spec(), url: 'ftp://x' }, /url must be an http\(s\) URL/],
      [{ ...spec(), url: 'http://user:pw@h/' }, /must not carry credentials/],
      [{ ...spec(), name: '' }, /name \(the remote model name\)/],
      [{ ...spec(), dimensions: 0 }, /dimensions must be an integer/],
    ];
    for (const [model, re] of bad) expect(() => validateSchema(withModel(model))).toThrow(re);
    expect(() => createEmbedder(spec({ dimensions: 64 }), DIM)).toThrow(/dimensions 64 differs from the column's dim 32/);
  });
});

describe('tables and the embed built-in with an openai model', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: TableStore;
  beforeEach(() => {
    tmp = tempDir();
    store = new TableStore({ dataDir: tmp.dir, workers: 1 });
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('a table embeds rows and text queries through the endpoint', async () => {
    const t = await store.create({
      name: 'docs',
      primaryKey: 'id',
      columns: [
        { name: 'id', type: 'int' },
        { name: 'body', type: 'string' },
      ],
      vectors: [{ name: 'emb', dim: DIM, metric: 'cosine' }],
      embedder: { column: 'emb', source: 'body', model: spec() },
    });
    await t.upsert([
      { id: 1, body: 'kafka brokers store partitions on shared disks' },
      { id: 2, body: 'the recipe needs flour sugar and butter' },
      { id: 3, body: 'vector search with hnsw graphs' },
    ]);
    // Only this test's requests: under load a request an earlier test abandoned can land late.
    const ours = (): Seen[] => seen.filter((r) => JSON.stringify(r.body.input).match(/kafka brokers|hnsw/));
    expect(ours()).toHaveLength(1);
    const hits = await t.search({ text: 'hnsw vector search', k: 2 });
    expect(hits[0]!.key).toBe(3);
    expect(ours()).toHaveLength(2);
    expect(ours()[1]!.body.input).toEqual(['hnsw vector search']);
    // The stored schema names the variable, never its value.
    expect(JSON.stringify(t.describe())).not.toContain('sk-test-123');
  });

  it('the embed built-in takes the model from vars and writes rows the table can search', async () => {
    const vars = { field: 'text', key: 'id', model: 'openai', url: base, model_name: 'emb-model', api_key_env: KEY_ENV, dimensions: String(DIM) };
    const spec0 = embedTableSpec(vars);
    expect(spec0.vectors![0]!.dim).toBe(DIM);
    await store.create({ ...spec0, name: 'events' });
    const table = await store.get('events');
    const rows: Array<Record<string, unknown>> = [];
    const ctx = {
      name: 'embed-events', version: 1, vars, inputs: ['in'], outputs: [], table: 'events',
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      metrics: { count() {}, gauge() {} },
      emit() {},
      upsert: (_t: string | undefined, r: Array<Record<string, unknown>>) => rows.push(...r),
      delete() {},
      search: async () => [],
    } as unknown as FnContext;
    await embedFn.init!(ctx);
    const texts = ['person climbing over the fence', 'a cat sleeping on the porch', 'delivery van in the driveway'];
    const records: FnRecord[] = texts.map((text, i) => {
      const value = Buffer.from(JSON.stringify({ id: `e${i}`, text }));
      return { topic: 'in', partition: 0, offset: i, timestamp: 0, key: null, value, headers: [], keyText: () => null, text: () => value.toString(), json: <T>() => JSON.parse(value.toString()) as T, header: () => undefined };
    });
    await embedFn.processBatch!(records, ctx);
    expect(seen.at(-1)!.body).toEqual({ model: 'emb-model', input: texts, dimensions: DIM });
    expect(seen.at(-1)!.auth).toBe('Bearer sk-test-123');
    await table.upsert(rows);
    const hits = await table.search({ text: 'cat on the porch', k: 1 });
    expect(hits[0]!.key).toBe('e1');

    expect(() => embedTableSpec({ model: 'openai', url: base, model_name: 'm' })).toThrow(/give var dim/);
    expect(() => embedTableSpec({ model: 'openai', url: base })).toThrow(/name \(the remote model name\)/);
    expect(embedTableSpec({ model: JSON.stringify(spec()), dim: '8' }).embedder!.model).toEqual(spec());
  });
});
