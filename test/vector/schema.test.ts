import { describe, expect, it } from 'vitest';
import { TableError } from '../../vector/errors.js';
import { addColumnToSchema, validateSchema } from '../../vector/schema.js';

const base = {
  name: 'docs',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'body', type: 'string' },
  ],
  vectors: [{ name: 'emb', dim: 4, metric: 'cosine' }],
};

describe('schema validation', () => {
  it('accepts a valid schema and returns a clean copy', () => {
    const s = validateSchema({ ...base, embedder: { column: 'emb', source: 'body', model: 'hashing' } });
    expect(s.vectors[0]).toEqual({ name: 'emb', dim: 4, metric: 'cosine' });
    expect(s.embedder).toEqual({ column: 'emb', source: 'body', model: 'hashing' });
    expect(validateSchema({ ...base, vectors: undefined }).vectors).toEqual([]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['name', { ...base, name: 'a/b' }, /invalid table name/],
    ['empty name', { ...base, name: '' }, /invalid table name/],
    ['dim 0', { ...base, vectors: [{ name: 'emb', dim: 0, metric: 'l2' }] }, /dim must be an integer in 1..4096/],
    ['dim 4097', { ...base, vectors: [{ name: 'emb', dim: 4097, metric: 'l2' }] }, /dim must be an integer in 1..4096/],
    ['metric', { ...base, vectors: [{ name: 'emb', dim: 4, metric: 'hamming' }] }, /metric must be one of/],
    ['dup column', { ...base, columns: [...base.columns, { name: 'body', type: 'int' }] }, /duplicate column name "body"/],
    ['dup vector/column', { ...base, vectors: [{ name: 'body', dim: 4, metric: 'l2' }] }, /duplicate column name "body"/],
    ['missing key', { ...base, primaryKey: 'nope' }, /primary key column "nope"/],
    ['float key', { ...base, columns: [{ name: 'id', type: 'float' }] }, /must be of type string or int/],
    ['nullable key', { ...base, columns: [{ name: 'id', type: 'int', nullable: true }] }, /cannot be nullable/],
    ['bad type', { ...base, columns: [...base.columns, { name: 'x', type: 'date' }] }, /type must be one of/],
    ['bad col name', { ...base, columns: [...base.columns, { name: '1x', type: 'int' }] }, /invalid column name/],
    ['embedder col', { ...base, embedder: { column: 'body', source: 'body', model: 'hashing' } }, /not a vector column/],
    ['embedder src', { ...base, embedder: { column: 'emb', source: 'nope', model: 'hashing' } }, /not a column/],
    ['unknown prop', { ...base, extra: 1 }, /unknown property "extra"/],
    ['m', { ...base, vectors: [{ name: 'emb', dim: 4, metric: 'l2', m: 1 }] }, /m must be an integer/],
  ];
  for (const [what, schema, msg] of bad) {
    it(`rejects ${what}`, () => {
      let err: unknown;
      try {
        validateSchema(schema);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TableError);
      expect((err as TableError).code).toBe('INVALID_SCHEMA');
      expect((err as Error).message).toMatch(msg);
    });
  }

  it('adds only nullable, new columns', () => {
    const s = validateSchema(base);
    expect(addColumnToSchema(s, { name: 'n', type: 'int' }).columns.at(-1)).toEqual({ name: 'n', type: 'int', nullable: true });
    expect(() => addColumnToSchema(s, { name: 'emb', type: 'int' })).toThrow(/already exists/);
    expect(() => addColumnToSchema(s, { name: 'n', type: 'int', nullable: false })).toThrow(/must be nullable/);
  });
});
