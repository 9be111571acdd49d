// Schema of the PostgreSQL control store. Migrations run in order on start, each in the same
// transaction as its schema_version bump, under an advisory lock so brokers starting together
// do not race.
import type pg from 'pg';

/** Index i migrates from version i to i + 1. Append only; never edit a released step. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE floe_cluster (
    id int PRIMARY KEY CHECK (id = 1),
    cluster_id text NOT NULL,
    next_producer_id bigint NOT NULL
  );
  CREATE TABLE floe_brokers (
    node_id int PRIMARY KEY,
    host text NOT NULL,
    port int NOT NULL,
    rack text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
  );
  CREATE TABLE floe_topics (
    name text PRIMARY KEY,
    topic_id text NOT NULL UNIQUE,
    partitions int NOT NULL,
    configs jsonb NOT NULL,
    created_at bigint NOT NULL,
    leader_epochs jsonb NOT NULL
  );
  CREATE TABLE floe_leases (
    key text PRIMARY KEY,
    holder int NOT NULL,
    epoch int NOT NULL,
    expires_at timestamptz NOT NULL,
    high_watermark bigint NOT NULL DEFAULT 0,
    epoch_start bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX floe_leases_holder ON floe_leases (holder);
  CREATE TABLE floe_manifest (
    key text NOT NULL,
    epoch int NOT NULL,
    holder int NOT NULL,
    start_offset bigint NOT NULL,
    end_offset bigint,
    PRIMARY KEY (key, epoch)
  );
  CREATE TABLE floe_offsets (
    group_id text NOT NULL,
    topic text NOT NULL,
    partition int NOT NULL,
    committed_offset bigint NOT NULL,
    leader_epoch int NOT NULL,
    metadata text NOT NULL,
    commit_ts bigint NOT NULL,
    expire_ts bigint,
    PRIMARY KEY (group_id, topic, partition)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Arbitrary constant naming Floe's migration lock. */
const MIGRATION_LOCK = 0x466c6f65;

/** Creates or migrates the schema; refuses a database written by a newer Floe. */
export async function migrate(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS floe_schema_version (version int NOT NULL)');
    const r = await client.query<{ version: number }>('SELECT version FROM floe_schema_version');
    let version = r.rows[0]?.version ?? 0;
    if (r.rows.length === 0) await client.query('INSERT INTO floe_schema_version (version) VALUES (0)');
    if (version > SCHEMA_VERSION) {
      throw new Error(`control store schema is version ${version}, newer than this Floe (${SCHEMA_VERSION}); upgrade Floe`);
    }
    for (; version < SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!);
      await client.query('UPDATE floe_schema_version SET version = $1', [version + 1]);
    }
    await client.query('COMMIT');
    return version;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
