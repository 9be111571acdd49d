// Committed offsets across coordinator changes: two in-process coordinators on one PostgreSQL,
// the group lease moved between them by hand (release = the lease expiring while its holder is
// paused), and commits frozen mid-flight by a gate on the pool. Every case ends with PostgreSQL
// (what the next coordinator loads) holding the newest acknowledged commit.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupLeaseKey } from '../../broker/cluster/control-store.js';
import { PostgresOffsetStore } from '../../broker/cluster/postgres-offset-store.js';
import { PostgresControlStore } from '../../broker/cluster/postgres-store.js';
import type { CoordinatorNode, CoordinatorOwnership } from '../../broker/groups/coordinator-ownership.js';
import type { GroupCoordinator } from '../../broker/groups/group-coordinator.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { E, setup, soloStable } from '../groups/fixture.js';

const TTL = 60_000;
const GROUP = 'g';
const KEY = groupLeaseKey(GROUP);

/** Ownership as the test decides it; `epoch` is what this node believes it holds. */
class HandOwnership implements CoordinatorOwnership {
  epoch: number | undefined = undefined;
  constructor(private readonly nodeId: number) {}
  coordinatorOf(): CoordinatorNode {
    return { nodeId: this.nodeId, host: '127.0.0.1', port: 9092 };
  }
  owns(): boolean {
    return this.epoch !== undefined;
  }
  tenure(): number | undefined {
    return this.epoch;
  }
}

/** A pool whose next connect() waits until the test opens the gate: a commit frozen mid-flight. */
class GatedPool {
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  connects = 0;
  constructor(private readonly real: pg.Pool) {}
  arm(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
  }
  async connect(): Promise<pg.PoolClient> {
    this.connects++;
    const g = this.gate;
    this.gate = null;
    if (g) await g;
    return this.real.connect();
  }
  query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return this.real.query(text, values);
  }
  asPool(): pg.Pool {
    return this as unknown as pg.Pool;
  }
}

interface Node {
  id: number;
  control: PostgresControlStore;
  pool: GatedPool;
  store: PostgresOffsetStore;
  own: HandOwnership;
  c: GroupCoordinator;
}

const enabled = postgresAvailable();
let server: PostgresHandle | undefined;
let dbCount = 0;
const opened: PostgresControlStore[] = [];

beforeAll(async () => {
  if (enabled) server = await startPostgres();
});

afterAll(async () => {
  for (const s of opened) await s.close().catch(() => {});
  await server?.stop();
});

async function cluster(): Promise<{ a: Node; b: Node; url: string }> {
  const url = await server!.createDatabase(`fence${++dbCount}`);
  const make = async (id: number): Promise<Node> => {
    const control = new PostgresControlStore({ url, maxConnections: 4 });
    await control.open();
    opened.push(control);
    const pool = new GatedPool(control.pool);
    const store = new PostgresOffsetStore(pool.asPool(), id);
    const own = new HandOwnership(id);
    const { c } = await setup({}, { store, ownership: own });
    return { id, control, pool, store, own, c };
  };
  return { a: await make(1), b: await make(2), url };
}

/** Takes the group lease for `n` and loads the group, as ClusterManager.acquireGroup does. */
async function take(n: Node): Promise<number> {
  const lease = await n.control.acquireLease(KEY, n.id, TTL);
  expect(lease).not.toBeNull();
  await n.store.reloadGroup(GROUP);
  n.own.epoch = lease!.epoch;
  return lease!.epoch;
}

/** The lease runs out (holder paused past the TTL, or handing over); the holder is not told. */
async function expire(n: Node): Promise<void> {
  const [l] = await n.control.listLeases(KEY);
  await n.control.releaseLease(KEY, n.id, l!.epoch);
}

async function stored(n: Node, partition = 0): Promise<number | undefined> {
  const r = await n.control.pool.query<{ committed_offset: string }>('SELECT committed_offset FROM floe_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3', [GROUP, 't', partition]);
  return r.rows[0] === undefined ? undefined : Number(r.rows[0].committed_offset);
}

function commit(c: GroupCoordinator, offset: number, member = { memberId: '', generationId: -1 }) {
  return c
    .commitOffsets({ groupId: GROUP, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    .then((r) => r[0]!.partitions[0]!.errorCode);
}

function fetched(c: GroupCoordinator): number | undefined {
  return c.fetchOffsets(GROUP, [{ name: 't', partitions: [0] }]).topics[0]?.partitions[0]?.committedOffset;
}

describe.skipIf(!enabled)('group offsets across coordinator changes (PostgreSQL)', () => {
  it('a member of a generation from an earlier spell cannot commit after its coordinator takes the group back', async () => {
    const { a, b } = await cluster();
    await take(a);
    const old = await soloStable(a.c, { groupId: GROUP });
    const oldMember = { memberId: old.join.memberId, generationId: old.join.generationId };
    expect(await commit(a.c, 10, oldMember)).toBe(E.NONE);

    // A pauses past its TTL: B takes the group, a new member commits further.
    await expire(a);
    await take(b);
    expect(await stored(b)).toBe(10);
    const fresh = await soloStable(b.c, { groupId: GROUP });
    expect(await commit(b.c, 50, { memberId: fresh.join.memberId, generationId: fresh.join.generationId })).toBe(E.NONE);
    // A wakes: still believing it owns the group, its commit is refused by PostgreSQL.
    expect(await commit(a.c, 20, oldMember)).toBe(E.COORDINATOR_NOT_AVAILABLE);

    // The group moves back to A (it is A's by rendezvous again); the old member was never told.
    await expire(b);
    b.own.epoch = undefined;
    await take(a);
    expect(fetched(a.c)).toBe(50);
    const code = await commit(a.c, 20, oldMember);
    expect([E.UNKNOWN_MEMBER_ID, E.ILLEGAL_GENERATION]).toContain(code);
    expect(await stored(a)).toBe(50);
    expect(fetched(a.c)).toBe(50);
  });

  it('two commits of one group land in PostgreSQL in the order they were made', async () => {
    const { a, b } = await cluster();
    await take(a);
    a.pool.arm();
    const first = commit(a.c, 10);
    const second = commit(a.c, 20);
    // Before the fix the second one finished here while the first was still frozen.
    await Promise.race([second, new Promise((r) => setTimeout(r, 1_000))]);
    a.pool.release();
    expect(await first).toBe(E.NONE);
    expect(await second).toBe(E.NONE);
    expect(fetched(a.c)).toBe(20);
    expect(await stored(a)).toBe(20);
    // What the next coordinator loads.
    await expire(a);
    await take(b);
    expect(fetched(b.c)).toBe(20);
  });

  it('a commit frozen before the lease moved away and back cannot land after the reload', async () => {
    const { a, b } = await cluster();
    await take(a);
    expect(await commit(a.c, 5)).toBe(E.NONE);
    a.pool.arm();
    const frozen = commit(a.c, 10);
    await expire(a);
    await take(b);
    expect(await commit(b.c, 50)).toBe(E.NONE);
    await expire(b);
    b.own.epoch = undefined;
    // A takes the group back while its old commit is still in flight, then the commit wakes.
    const lease = await a.control.acquireLease(KEY, a.id, TTL);
    const reload = a.store.reloadGroup(GROUP);
    a.pool.release();
    expect(await frozen).toBe(E.COORDINATOR_NOT_AVAILABLE);
    await reload;
    a.own.epoch = lease!.epoch;
    expect(await stored(a)).toBe(50);
    expect(fetched(a.c)).toBe(50);
  });

  it('a failed commit is not visible to OffsetFetch', async () => {
    const { a } = await cluster();
    await take(a);
    expect(await commit(a.c, 7)).toBe(E.NONE);
    await expire(a);
    expect(await commit(a.c, 9)).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect(fetched(a.c)).toBe(7);
    expect(await stored(a)).toBe(7);
  });
});
