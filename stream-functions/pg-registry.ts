// The function registry of a cluster, in the control store's PostgreSQL: one row per function
// (active version, paused) and one per version (its spec, immutable once written). A revision
// counter bumped in every change's transaction lets each broker poll cheaply for changes.
import type pg from 'pg';
import type { FunctionRegistry } from './registry.js';
import { FunctionError, type FunctionRecord, type VersionSpec } from './spec.js';

// Arbitrary, distinct from the control store's migration lock.
const SCHEMA_LOCK = 726_011_400;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS floe_functions (
  name text PRIMARY KEY,
  active int NOT NULL,
  paused boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS floe_function_versions (
  name text NOT NULL REFERENCES floe_functions (name) ON DELETE CASCADE,
  version int NOT NULL,
  spec jsonb NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS floe_functions_revision (
  id int PRIMARY KEY CHECK (id = 1),
  revision bigint NOT NULL
);
INSERT INTO floe_functions_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

export class PostgresFunctionRegistry implements FunctionRegistry {
  private records = new Map<string, FunctionRecord>();
  private revision = -1;
  private schemaReady = false;

  constructor(private readonly pool: pg.Pool) {}

  async open(): Promise<void> {
    if (!this.schemaReady) {
      await this.inTransaction(async (c) => {
        // CREATE ... IF NOT EXISTS still races between sessions; serialize brokers starting together.
        await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await c.query(SCHEMA);
      });
      this.schemaReady = true;
    }
    await this.load();
  }

  /** Reloads when another broker changed something; true when it did. */
  async refresh(): Promise<boolean> {
    const r = await this.pool.query<{ revision: string }>('SELECT revision FROM floe_functions_revision WHERE id = 1');
    if (Number(r.rows[0]?.revision ?? 0) === this.revision) return false;
    await this.load();
    return true;
  }

  private async load(): Promise<void> {
    const c = await this.pool.connect();
    try {
      // One snapshot for the revision and the rows it describes.
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const rev = await c.query<{ revision: string }>('SELECT revision FROM floe_functions_revision WHERE id = 1');
      const fns = await c.query<{ name: string; active: number; paused: boolean }>('SELECT name, active, paused FROM floe_functions');
      const vs = await c.query<{ name: string; version: number; spec: VersionSpec }>('SELECT name, version, spec FROM floe_function_versions ORDER BY name, version');
      await c.query('COMMIT');
      const next = new Map<string, FunctionRecord>();
      for (const f of fns.rows) next.set(f.name, { name: f.name, active: f.active, paused: f.paused, versions: [] });
      for (const v of vs.rows) next.get(v.name)?.versions.push(v.spec);
      this.records = next;
      this.revision = Number(rev.rows[0]?.revision ?? 0);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  list(): FunctionRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => structuredClone(r));
  }

  get(name: string): FunctionRecord | undefined {
    const r = this.records.get(name);
    return r ? structuredClone(r) : undefined;
  }

  async put(record: FunctionRecord): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(
        `INSERT INTO floe_functions (name, active, paused) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET active = EXCLUDED.active, paused = EXCLUDED.paused, updated_at = now()`,
        [record.name, record.active, record.paused],
      );
      for (const v of record.versions) {
        const ins = await c.query('INSERT INTO floe_function_versions (name, version, spec) VALUES ($1, $2, $3) ON CONFLICT (name, version) DO NOTHING', [record.name, v.version, JSON.stringify(v)]);
        if (ins.rowCount === 1) continue;
        // Versions never change once written; a different spec under the same number means
        // another broker deployed the same function at the same moment.
        const cur = await c.query<{ created: string }>("SELECT spec->>'createdAt' AS created FROM floe_function_versions WHERE name = $1 AND version = $2", [record.name, v.version]);
        if (cur.rows[0]?.created !== String(v.createdAt)) {
          throw new FunctionError(409, 'CONFLICT', `function ${record.name} v${v.version} was just deployed by another broker; deploy again`);
        }
      }
    });
    this.records.set(record.name, structuredClone(record));
  }

  async remove(name: string): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('DELETE FROM floe_functions WHERE name = $1', [name]);
    });
    this.records.delete(name);
  }

  async close(): Promise<void> {
    // The pool belongs to the control store.
  }

  /** A registry change: `fn` plus a revision bump, so every broker's poll notices it. */
  private async transaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    await this.inTransaction(async (c) => {
      await fn(c);
      await c.query('UPDATE floe_functions_revision SET revision = revision + 1 WHERE id = 1');
    });
  }

  private async inTransaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}
