// Committed offsets in the PostgreSQL control store, for a cluster whose groups move between
// brokers. Reads come from memory; a broker reloads a group when it takes the group's lease.
// Every commit is fenced by that lease (holder and epoch, unexpired) in the same transaction,
// and one group's writes run one after another, so memory and PostgreSQL see them in the same
// order and a commit becomes visible only once it is durable.
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
  /** Per group: the tail of its queue of writes and reloads. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Per group: the lease epoch it was last loaded under (the epoch its commits are fenced by). */
  private readonly loadedEpoch = new Map<string, number>();

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

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }

  groupIds(): string[] {
    return this.table.groupIds();
  }

  offsets(groupId: string): GroupOffsets | undefined {
    return this.table.get(groupId);
  }

  /**
   * Replaces the cached commits of one group with the store's (on taking its lease). Runs after
   * every earlier write of the group has settled; those carry an older epoch, so once the lease
   * has changed hands none of them can land after this read.
   */
  reloadGroup(groupId: string): Promise<void> {
    return this.serial(groupId, async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const lease = await c.query<{ epoch: number }>('SELECT epoch FROM floe_leases WHERE key = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE', [
          groupLeaseKey(groupId),
          this.nodeId,
        ]);
        const epoch = lease.rows[0]?.epoch;
        if (epoch === undefined) throw new LeaseLostError(`node ${this.nodeId} does not hold the lease of group ${groupId}`);
        const r = await c.query<OffsetRow>(`SELECT ${COLUMNS} FROM floe_offsets WHERE group_id = $1`, [groupId]);
        await c.query('COMMIT');
        this.table.applyDelete(groupId, null);
        if (r.rows.length > 0) this.table.applyCommit(groupId, r.rows.map(toWrite));
        this.loadedEpoch.set(groupId, epoch);
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    });
  }

  /** Durable first, then visible: a failed write leaves neither PostgreSQL nor memory changed. */
  commit(groupId: string, writes: OffsetWrite[], tenure?: number): Promise<void> {
    return this.serial(groupId, async () => {
      const epoch = tenure ?? this.loadedEpoch.get(groupId);
      if (epoch === undefined) throw new LeaseLostError(`node ${this.nodeId} has not loaded group ${groupId} under a lease`);
      await this.fenced(groupId, epoch, async (c) => {
        for (const w of writes) {
          await c.query(
            `INSERT INTO floe_offsets (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (group_id, topic, partition) DO UPDATE SET committed_offset = EXCLUDED.committed_offset, leader_epoch = EXCLUDED.leader_epoch,
               metadata = EXCLUDED.metadata, commit_ts = EXCLUDED.commit_ts, expire_ts = EXCLUDED.expire_ts`,
            [groupId, w.topic, w.partition, w.value.offset, w.value.leaderEpoch, w.value.metadata, w.value.commitTimestamp, w.value.expireTimestamp],
          );
        }
      });
      this.table.applyCommit(groupId, writes);
    });
  }

  delete(groupId: string, partitions: TopicPartition[] | null): Promise<void> {
    // Deletes are not fenced: retention and topic deletion run on whichever broker sees them.
    return this.serial(groupId, async () => {
      if (partitions === null) await this.pool.query('DELETE FROM floe_offsets WHERE group_id = $1', [groupId]);
      else for (const p of partitions) await this.pool.query('DELETE FROM floe_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3', [groupId, p.topic, p.partition]);
      this.table.applyDelete(groupId, partitions);
    });
  }

  /** Runs `fn` after every earlier queued operation of the group has settled. */
  private serial(groupId: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.queues.get(groupId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.queues.set(groupId, tail);
    void tail.then(() => {
      if (this.queues.get(groupId) === tail) this.queues.delete(groupId);
    });
    return run;
  }

  /**
   * Runs `body` in a transaction that holds the group's lease row at `epoch`: a coordinator whose
   * lease expired, or that lost it and took it back since validating the commit, cannot commit.
   * A takeover's row lock waits for a write that got past this check, so the next coordinator's
   * reload sees it.
   */
  private async fenced(groupId: string, epoch: number, body: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await c.query('SELECT 1 FROM floe_leases WHERE key = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() FOR SHARE', [
        groupLeaseKey(groupId),
        this.nodeId,
        epoch,
      ]);
      if (r.rowCount === 0) throw new LeaseLostError(`node ${this.nodeId} no longer coordinates group ${groupId} at lease epoch ${epoch}`);
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
