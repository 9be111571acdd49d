import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { BrokerRecord, ControlStore, LeaseKey, LeaseRecord, ManifestEpoch, TopicRecord } from './control-store.js';
import { ControlStoreError } from './control-store.js';
import { migrate } from './postgres-schema.js';
import { HighWatermarkWatcher } from './hw-watcher.js';

// A broker that registers "forever" (no TTL) still needs a finite timestamp.
const FOREVER_MS = 100 * 365 * 86_400_000;
const UNIQUE_VIOLATION = '23505';

interface LeaseRow {
  key: string;
  holder: number;
  epoch: number;
  expires_ms: number;
  valid: boolean;
  high_watermark: string;
  epoch_start: string;
}

const LEASE_COLUMNS = `key, holder, epoch, floor(extract(epoch from expires_at) * 1000)::float8 AS expires_ms,
  (expires_at > clock_timestamp()) AS valid, high_watermark, epoch_start`;

function toLease(r: LeaseRow): LeaseRecord {
  return {
    key: r.key,
    holder: r.holder,
    epoch: r.epoch,
    expiresAt: r.expires_ms,
    valid: r.valid,
    highWatermark: Number(r.high_watermark),
    epochStartOffset: Number(r.epoch_start),
  };
}

interface TopicRow {
  name: string;
  topic_id: string;
  partitions: number;
  configs: Record<string, string>;
  created_at: string;
  leader_epochs: number[];
}

function toTopic(r: TopicRow): TopicRecord {
  return { name: r.name, topicId: r.topic_id, partitions: r.partitions, configs: r.configs, createdAt: Number(r.created_at), leaderEpochs: r.leader_epochs };
}

export interface PostgresStoreOptions {
  /** postgres://user@host:port/db */
  url: string;
  /** Pool size (default 8). */
  maxConnections?: number;
  /** Used when the cluster row is first created (default: random). */
  clusterId?: string;
}

/**
 * Control store shared by every broker of a cluster. Topic metadata is cached in memory (reads
 * are synchronous) and reloaded by refresh(); leases and manifests are always read live, and
 * expire by PostgreSQL's clock only.
 */
export class PostgresControlStore implements ControlStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  private id = '';
  private topics = new Map<string, TopicRecord>();

  constructor(private readonly opts: PostgresStoreOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 8, connectionTimeoutMillis: 10_000 });
    // An idle client's error (e.g. the server restarting) must not crash the process.
    this.pool.on('error', () => {});
  }

  async open(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await migrate(client);
      await client.query('INSERT INTO floe_cluster (id, cluster_id, next_producer_id) VALUES (1, $1, 1000) ON CONFLICT (id) DO NOTHING', [
        this.opts.clusterId ?? randomBytes(16).toString('base64url'),
      ]);
      const r = await client.query<{ cluster_id: string }>('SELECT cluster_id FROM floe_cluster WHERE id = 1');
      this.id = r.rows[0]!.cluster_id;
    } finally {
      client.release();
    }
    await this.refresh();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  clusterId(): string {
    return this.id;
  }

  async registerBroker(b: BrokerRecord, ttlMs = FOREVER_MS): Promise<void> {
    // A live registration of the same id at another address is another broker: refuse to join.
    const r = await this.pool.query(
      `INSERT INTO floe_brokers (node_id, host, port, rack, expires_at) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
       ON CONFLICT (node_id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port, rack = EXCLUDED.rack, expires_at = EXCLUDED.expires_at,
         registered_at = CASE WHEN floe_brokers.expires_at > now() THEN floe_brokers.registered_at ELSE now() END
       WHERE floe_brokers.expires_at <= now() OR (floe_brokers.host = EXCLUDED.host AND floe_brokers.port = EXCLUDED.port)`,
      [b.nodeId, b.host, b.port, b.rack, ttlMs],
    );
    if (r.rowCount === 0) throw new ControlStoreError('STORE_ERROR', `node id ${b.nodeId} is already registered by a live broker at another address`);
  }

  async deregisterBroker(nodeId: number): Promise<void> {
    await this.pool.query('UPDATE floe_brokers SET expires_at = now() WHERE node_id = $1 AND expires_at > now()', [nodeId]);
  }

  async liveBrokers(): Promise<BrokerRecord[]> {
    const r = await this.pool.query<{ node_id: number; host: string; port: number; rack: string | null }>(
      'SELECT node_id, host, port, rack FROM floe_brokers WHERE expires_at > now() ORDER BY node_id',
    );
    return r.rows.map((x) => ({ nodeId: x.node_id, host: x.host, port: x.port, rack: x.rack }));
  }

  async now(): Promise<number> {
    const r = await this.pool.query<{ ms: number }>('SELECT floor(extract(epoch from clock_timestamp()) * 1000)::float8 AS ms');
    return r.rows[0]!.ms;
  }

  async refresh(): Promise<void> {
    const r = await this.pool.query<TopicRow>('SELECT name, topic_id, partitions, configs, created_at, leader_epochs FROM floe_topics');
    this.topics = new Map(r.rows.map((row) => [row.name, toTopic(row)]));
  }

  listTopics(): TopicRecord[] {
    return [...this.topics.values()];
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.topics.get(name);
  }

  async createTopic(t: TopicRecord): Promise<void> {
    try {
      await this.pool.query('INSERT INTO floe_topics (name, topic_id, partitions, configs, created_at, leader_epochs) VALUES ($1, $2, $3, $4, $5, $6)', [
        t.name,
        t.topicId,
        t.partitions,
        JSON.stringify(t.configs),
        t.createdAt,
        JSON.stringify(t.leaderEpochs),
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        // Another broker created it: make it visible here before saying so.
        await this.refresh();
        throw new ControlStoreError('TOPIC_ALREADY_EXISTS', `Topic '${t.name}' already exists.`);
      }
      throw err;
    }
    this.topics.set(t.name, { ...t, configs: { ...t.configs }, leaderEpochs: [...t.leaderEpochs] });
  }

  async deleteTopic(name: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await client.query('DELETE FROM floe_topics WHERE name = $1', [name]);
      if (r.rowCount === 0) {
        await client.query('ROLLBACK');
        this.topics.delete(name);
        throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      }
      const prefix = `p/${name}/`;
      await client.query('DELETE FROM floe_leases WHERE left(key, length($1)) = $1', [prefix]);
      await client.query('DELETE FROM floe_manifest WHERE left(key, length($1)) = $1', [prefix]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    this.topics.delete(name);
  }

  async updateTopic(name: string, patch: Partial<Pick<TopicRecord, 'partitions' | 'configs' | 'leaderEpochs'>>): Promise<TopicRecord> {
    const r = await this.pool.query<TopicRow>(
      `UPDATE floe_topics SET partitions = COALESCE($2, partitions), configs = COALESCE($3::jsonb, configs), leader_epochs = COALESCE($4::jsonb, leader_epochs)
       WHERE name = $1 RETURNING name, topic_id, partitions, configs, created_at, leader_epochs`,
      [name, patch.partitions ?? null, patch.configs ? JSON.stringify(patch.configs) : null, patch.leaderEpochs ? JSON.stringify(patch.leaderEpochs) : null],
    );
    const row = r.rows[0];
    if (!row) {
      this.topics.delete(name);
      throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    }
    const t = toTopic(row);
    this.topics.set(name, t);
    return t;
  }

  async allocateProducerIds(count: number): Promise<number> {
    const r = await this.pool.query<{ first: string }>('UPDATE floe_cluster SET next_producer_id = next_producer_id + $1 WHERE id = 1 RETURNING next_producer_id - $1 AS first', [count]);
    return Number(r.rows[0]!.first);
  }

  async acquireLease(key: LeaseKey, holder: number, ttlMs: number): Promise<LeaseRecord | null> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const cur = await client.query<{ holder: number; epoch: number; valid: boolean; high_watermark: string }>(
        'SELECT holder, epoch, (expires_at > clock_timestamp()) AS valid, high_watermark FROM floe_leases WHERE key = $1 FOR UPDATE',
        [key],
      );
      const row = cur.rows[0];
      const isPartition = key.startsWith('p/');
      if (row === undefined) {
        const ins = await client.query(
          `INSERT INTO floe_leases (key, holder, epoch, expires_at) VALUES ($1, $2, 0, clock_timestamp() + $3 * interval '1 millisecond') ON CONFLICT (key) DO NOTHING`,
          [key, holder, ttlMs],
        );
        if (ins.rowCount === 0) {
          // Another broker inserted it first; its lease is fresh, so it is not ours.
          await client.query('ROLLBACK');
          return null;
        }
        if (isPartition) await client.query('INSERT INTO floe_manifest (key, epoch, holder, start_offset) VALUES ($1, 0, $2, 0)', [key, holder]);
      } else if (row.valid && row.holder !== holder) {
        await client.query('ROLLBACK');
        return null;
      } else if (row.valid) {
        await client.query(`UPDATE floe_leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond' WHERE key = $1`, [key, ttlMs]);
      } else {
        // Takeover: the old epoch ends at its last published (durable, acknowledged) high watermark.
        const epoch = row.epoch + 1;
        const sealAt = Number(row.high_watermark);
        await client.query(
          `UPDATE floe_leases SET holder = $2, epoch = $3, expires_at = clock_timestamp() + $4 * interval '1 millisecond', epoch_start = $5 WHERE key = $1`,
          [key, holder, epoch, ttlMs, sealAt],
        );
        if (isPartition) {
          await client.query('UPDATE floe_manifest SET end_offset = $3 WHERE key = $1 AND epoch = $2 AND end_offset IS NULL', [key, row.epoch, sealAt]);
          await client.query('INSERT INTO floe_manifest (key, epoch, holder, start_offset) VALUES ($1, $2, $3, $4)', [key, epoch, holder, sealAt]);
        }
      }
      const out = await client.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM floe_leases WHERE key = $1`, [key]);
      await client.query('COMMIT');
      return toLease(out.rows[0]!);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async renewLeases(holder: number, ttlMs: number): Promise<LeaseRecord[]> {
    const r = await this.pool.query<LeaseRow>(
      `WITH b AS (UPDATE floe_brokers SET expires_at = now() + $2 * interval '1 millisecond' WHERE node_id = $1 AND expires_at > now())
       UPDATE floe_leases SET expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       WHERE holder = $1 AND expires_at > clock_timestamp() RETURNING ${LEASE_COLUMNS}`,
      [holder, ttlMs],
    );
    return r.rows.map(toLease);
  }

  async releaseLease(key: LeaseKey, holder: number, epoch: number): Promise<void> {
    await this.pool.query('UPDATE floe_leases SET expires_at = clock_timestamp() WHERE key = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()', [key, holder, epoch]);
  }

  async listLeases(prefix = ''): Promise<LeaseRecord[]> {
    const r = await this.pool.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM floe_leases WHERE left(key, length($1)) = $1 ORDER BY key`, [prefix]);
    return r.rows.map(toLease);
  }

  async holdsLease(key: LeaseKey, holder: number, epoch: number): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM floe_leases WHERE key = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()', [key, holder, epoch]);
    return r.rowCount === 1;
  }

  async publishHighWatermark(key: LeaseKey, holder: number, epoch: number, highWatermark: number): Promise<boolean> {
    // The notification wakes readers on other brokers (tailing fetches) within milliseconds.
    const r = await this.pool.query(
      `WITH u AS (UPDATE floe_leases SET high_watermark = GREATEST(high_watermark, $4)
         WHERE key = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() RETURNING key, epoch, high_watermark)
       SELECT pg_notify('floe_hw', u.epoch || ' ' || u.high_watermark || ' ' || u.key) FROM u`,
      [key, holder, epoch, highWatermark],
    );
    return r.rowCount === 1;
  }

  /** The listening connection reconnects with backoff after errors (see HighWatermarkWatcher). */
  async watchHighWatermarks(fn: (key: LeaseKey, epoch: number, highWatermark: number) => void, onError?: (err: unknown) => void): Promise<() => Promise<void>> {
    const w = new HighWatermarkWatcher({ url: this.opts.url, onError }, fn);
    await w.start();
    this.watchers.add(w);
    return async () => {
      this.watchers.delete(w);
      await w.stop();
    };
  }

  /** Live listening connections (tests). */
  readonly watchers = new Set<HighWatermarkWatcher>();

  async manifest(key: LeaseKey): Promise<ManifestEpoch[]> {
    const r = await this.pool.query<{ epoch: number; holder: number; start_offset: string; end_offset: string | null }>(
      'SELECT epoch, holder, start_offset, end_offset FROM floe_manifest WHERE key = $1 ORDER BY epoch',
      [key],
    );
    return r.rows.map((x) => ({ epoch: x.epoch, holder: x.holder, startOffset: Number(x.start_offset), endOffset: x.end_offset === null ? null : Number(x.end_offset) }));
  }
}
