// Committed offsets in the PostgreSQL control store, for a cluster whose groups move between
// brokers. Reads come from memory; a broker reloads a group when it takes the group's lease,
// and every commit is fenced by that lease in the same transaction.
import type pg from 'pg';
import type { GroupOffsets, OffsetStore, OffsetWrite, TopicPartition } from '../groups/offset-store.js';
import { OffsetTable } from '../groups/offset-table.js';
import { groupLeaseKey } from './control-store.js';
import { LeaseLostError } from './lease-lost-error.js';

interface OffsetRow {
  group_id: string;
  topic: string;
  partition: number;
  committed_offset: string;
  leader_epoch: number;
  metadata: string;
  commit_ts: string;
  expire_ts: string | null;
}

function toWrite(r: OffsetRow): OffsetWrite {
  return {
    topic: r.topic,
    partition: r.partition,
    value: {
      offset: Number(r.committed_offset),
      leaderEpoch: r.leader_epoch,
      metadata: r.metadata,
      commitTimestamp: Number(r.commit_ts),
      expireTimestamp: r.expire_ts === null ? null : Number(r.expire_ts),
    },
  };
}

const COLUMNS = 'group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_ts, expire_ts';

export class PostgresOffsetStore implements OffsetStore {
  private readonly table = new OffsetTable();

  constructor(
    private readonly pool: pg.Pool,
    private readonly nodeId: number,
  ) {}

  async open(): Promise<void> {
    const r = await this.pool.query<OffsetRow>(`SELECT ${COLUMNS} FROM floe_offsets`);
    this.table.clear();
    const byGroup = new Map<string, OffsetWrite[]>();
    for (const row of r.rows) {
      let list = byGroup.get(row.group_id);
      if (!list) byGroup.set(row.group_id, (list = []));
      list.push(toWrite(row));
    }
    for (const [g, writes] of byGroup) this.table.applyCommit(g, writes);
  }

  async close(): Promise<void> {}

  groupIds(): string[] {
    return this.table.groupIds();
  }

  offsets(groupId: string): GroupOffsets | undefined {
    return this.table.get(groupId);
  }

  /** Replaces the cached commits of one group with the store's (on taking its lease). */
  async reloadGroup(groupId: string): Promise<void> {
    const r = await this.pool.query<OffsetRow>(`SELECT ${COLUMNS} FROM floe_offsets WHERE group_id = $1`, [groupId]);
    this.table.applyDelete(groupId, null);
    if (r.rows.length > 0) this.table.applyCommit(groupId, r.rows.map(toWrite));
  }

  async commit(groupId: string, writes: OffsetWrite[]): Promise<void> {
    this.table.applyCommit(groupId, writes);
    await this.fenced(groupId, async (c) => {
      for (const w of writes) {
        await c.query(
          `INSERT INTO floe_offsets (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = EXCLUDED.committed_offset, leader_epoch = EXCLUDED.leader_epoch,
             metadata = EXCLUDED.metadata, commit_ts = EXCLUDED.commit_ts, expire_ts = EXCLUDED.expire_ts`,
          [groupId, w.topic, w.partition, w.value.offset, w.value.leaderEpoch, w.value.metadata, w.value.commitTimestamp, w.value.expireTimestamp],
        );
      }
    });
  }

  async delete(groupId: string, partitions: TopicPartition[] | null): Promise<void> {
    this.table.applyDelete(groupId, partitions);
    // Deletes are not fenced: retention and topic deletion run on whichever broker sees them.
    if (partitions === null) {
      await this.pool.query('DELETE FROM floe_offsets WHERE group_id = $1', [groupId]);
      return;
    }
    for (const p of partitions) await this.pool.query('DELETE FROM floe_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3', [groupId, p.topic, p.partition]);
  }

  /** Runs `body` in a transaction that holds the group's lease row: a zombie coordinator cannot commit. */
  private async fenced(groupId: string, body: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await c.query('SELECT 1 FROM floe_leases WHERE key = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE', [groupLeaseKey(groupId), this.nodeId]);
      if (r.rowCount === 0) throw new LeaseLostError(`node ${this.nodeId} no longer coordinates group ${groupId}`);
      await body(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }
}
