// Leases in a running cluster: three in-process brokers on one data dir and a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { connect, partitionLeaders, produceTo, sleep, startCluster, waitFor, type InProcessCluster } from './fixture.js';
import { CreateTopics, Fetch, ListOffsets, Metadata } from '../../broker/client/apis.js';
import { decodeBatches } from '../log/batch-builder.js';


let pg: PostgresHandle;
let cluster: InProcessCluster;
let controlUrl = '';

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('leases');
  controlUrl = url;
  cluster = await startCluster(url, [1, 2, 3]);
});

afterAll(async () => {
  await cluster?.close();
  await pg?.stop();
});

const TOPIC = 'orders';
const PARTITIONS = 6;

// A busy machine can stall every in-process broker past its TTL, and leases then legitimately move
// (with new epochs). So offsets are asserted against what was acknowledged, epochs only grow, and
// produces follow the current leader.
const acked = new Map<number, number>();
const ackedIn = (partition: number) => acked.get(partition) ?? 0;
function noteAcked(partition: number, baseOffset: number, n: number): void {
  expect(baseOffset).toBe(ackedIn(partition));
  acked.set(partition, baseOffset + n);
}

async function anyNodeLeaders() {
  const id = [...cluster.nodes.keys()][0]!;
  const c = await connect(cluster.nodes.get(id)!);
  try {
    return await partitionLeaders(c, TOPIC);
  } finally {
    c.conn.close();
  }
}

/** Produces `n` values with acks=all to whoever leads `partition` now; follows leader moves. */
async function produceToLeader(partition: number, n: number, prefix: string): Promise<{ leader: number; baseOffset: number }> {
  let fatal: Error | null = null;
  const r = await waitFor(`an acknowledged produce to ${TOPIC}-${partition}`, async () => {
    if (fatal) return null;
    const l = (await anyNodeLeaders())[partition];
    const node = l && l.leader > 0 ? cluster.nodes.get(l.leader) : undefined;
    if (!node) return undefined;
    const c = await connect(node);
    try {
      const res = await produceTo(c, TOPIC, partition, n, prefix);
      if (res.errorCode === ErrorCode.NONE) return { leader: l!.leader, baseOffset: res.baseOffset };
      if (res.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) return undefined;
      fatal = new Error(`produce to ${TOPIC}-${partition} failed with error ${res.errorCode}`);
      return null;
    } finally {
      c.conn.close();
    }
  });
  if (r === null) throw fatal ?? new Error('unreachable');
  noteAcked(partition, r.baseOffset, n);
  return r;
}

describe('partition leases', () => {
  it('spreads leaders over the live brokers and lists every live broker as replica', async () => {
    const conn = await connect(cluster.nodes.get(1)!);
    try {
      const res = await conn.send(CreateTopics, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
      expect(res.topics[0]!.errorCode).toBe(ErrorCode.NONE);
      const leaders = await waitFor('every partition to have a leader', async () => {
        const l = await partitionLeaders(conn, TOPIC);
        return l.length === PARTITIONS && l.every((p) => p.leader > 0) ? l : undefined;
      });
      for (const p of leaders) expect(p.replicas.sort()).toEqual([1, 2, 3]);
      expect(new Set(leaders.map((p) => p.leader)).size).toBeGreaterThan(1);
      // Every broker agrees on who leads what.
      for (const id of [2, 3]) {
        const other = await connect(cluster.nodes.get(id)!);
        try {
          await waitFor('agreement', async () => {
            const l = await partitionLeaders(other, TOPIC);
            return JSON.stringify(l.map((p) => p.leader)) === JSON.stringify(leaders.map((p) => p.leader)) ? true : undefined;
          });
        } finally {
          other.conn.close();
        }
      }
    } finally {
      conn.conn.close();
    }
  });

  it('acknowledges produce only on the leader; others answer NOT_LEADER_OR_FOLLOWER', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    try {
      const leaders = await partitionLeaders(c1, TOPIC);
      for (const p of leaders) {
        for (const [id, node] of cluster.nodes) {
          if (id === p.leader) continue;
          const c = await connect(node);
          try {
            const r = await produceTo(c, TOPIC, p.partition, 3, `p${p.partition}-n${id}-`);
            if (r.errorCode === ErrorCode.NONE) {
              // Only legitimate if this broker took the lease meanwhile (a stall past the TTL).
              const now = (await partitionLeaders(c1, TOPIC))[p.partition]!;
              expect(now.epoch).toBeGreaterThan(p.epoch);
              noteAcked(p.partition, r.baseOffset, 3);
            } else {
              expect(r.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
            }
          } finally {
            c.conn.close();
          }
        }
        await produceToLeader(p.partition, 3, `p${p.partition}-leader-`);
      }
    } finally {
      c1.conn.close();
    }
  });

  it('hands leases over on graceful shutdown with epoch + 1 and keeps every acknowledged record', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    try {
      const before = await partitionLeaders(c1, TOPIC);
      const victim = before.find((p) => p.leader !== 1)!.leader;
      const moved = before.filter((p) => p.leader === victim);
      await cluster.stop(victim);
      const after = await waitFor('the leaving broker\'s partitions to move', async () => {
        const l = await partitionLeaders(c1, TOPIC);
        return l.every((p) => p.leader > 0 && p.leader !== victim) ? l : undefined;
      });
      for (const m of moved) expect(after[m.partition]!.epoch).toBeGreaterThan(m.epoch);
      for (const p of after) expect(p.replicas).not.toContain(victim);
      // Each partition keeps what was acknowledged earlier; the new leader appends right after it.
      for (const p of after) {
        const r = await produceToLeader(p.partition, 2, 'after-');
        expect(r.leader).not.toBe(victim);
        // Node 1 may not lead it: its answer then follows the published high watermark, which it
        // hears of asynchronously (LISTEN/NOTIFY or its next heartbeat).
        const latest = async () => {
          const lo = await c1.send(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] });
          return Number(lo.topics[0]!.partitions[0]!.offset);
        };
        await waitFor(`node 1 to list ${ackedIn(p.partition)} as the latest offset of p${p.partition}`, async () => ((await latest()) === ackedIn(p.partition) ? true : undefined), 10_000);
        expect(await latest()).toBe(ackedIn(p.partition));
      }
      await cluster.start(victim);
      await waitFor('the returning broker to lead again', async () => {
        const l = await partitionLeaders(c1, TOPIC);
        return l.some((p) => p.leader === victim) && l.every((p) => p.leader > 0) ? l : undefined;
      });
    } finally {
      c1.conn.close();
    }
  });
});

describe('any-broker reads', () => {
  async function fetchFrom(id: number, topic: string, partition: number, offset: number, maxWaitMs = 0): Promise<{ error: number; hw: number; values: string[] }> {
    const c = await connect(cluster.nodes.get(id)!);
    try {
      const md = await c.send(Metadata, { topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      const res = await c.send(Fetch, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, topicId: md.topics[0]!.topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
        forgottenTopicsData: [], rackId: '',
      }, { timeoutMs: maxWaitMs + 10_000 });
      const p = res.responses[0]!.partitions[0]!;
      return { error: p.errorCode, hw: Number(p.highWatermark), values: p.records && p.records.length > 0 ? decodeBatches(p.records).flatMap((b) => b.values) : [] };
    } finally {
      c.conn.close();
    }
  }

  it('serves Fetch and ListOffsets for any partition from every broker, up to the published high watermark', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    const leaders = await partitionLeaders(c1, TOPIC);
    c1.conn.close();
    for (const p of leaders) {
      const fromLeader = await fetchFrom(p.leader, TOPIC, p.partition, 0);
      expect(fromLeader.error).toBe(ErrorCode.NONE);
      expect(fromLeader.values.length).toBe(ackedIn(p.partition));
      for (const id of cluster.nodes.keys()) {
        const r = await fetchFrom(id, TOPIC, p.partition, 0);
        expect(r).toEqual(fromLeader);
        const c = await connect(cluster.nodes.get(id)!);
        const lo = await c.send(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] });
        c.conn.close();
        expect(lo.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: ackedIn(p.partition) });
      }
    }
  });

  it('wakes a long-polling fetch on a non-leader when the leader appends', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    const p = (await partitionLeaders(c1, TOPIC))[0]!;
    c1.conn.close();
    const reader = [...cluster.nodes.keys()].find((id) => id !== p.leader)!;
    const waiting = fetchFrom(reader, TOPIC, p.partition, ackedIn(p.partition), 20_000);
    await sleep(300);
    await produceToLeader(p.partition, 1, 'tail-');
    const r = await waiting;
    expect(r.values).toEqual(['tail-0']);
  });
});

describe('floe cluster CLI', () => {
  it('shows leaders, epochs and lease expiries from the control store', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    // Asynchronously: the brokers run in this process and must keep heartbeating meanwhile.
    const run = async (...args: string[]) => JSON.parse((await promisify(execFile)(process.execPath, ['--import', 'tsx', 'api/cli/main.ts', 'cluster', ...args, '--control', controlUrl, '--json'], { encoding: 'utf8' })).stdout) as Record<string, unknown>;
    // The CLI and Metadata are read at different moments; a stall between them can move a lease,
    // so a mismatch is retried a few times before it counts.
    for (let attempt = 1; ; attempt++) {
      try {
        const info = (await run('info')) as { liveBrokers: number[]; partitions: number };
        expect(info.liveBrokers).toEqual([1, 2, 3]);
        expect(info.partitions).toBe(PARTITIONS);
        const parts = (await run('partitions')) as { now: number; partitions: Array<{ topic: string; leader: number; epoch: number; expiresAt: number }> };
        const c1 = await connect(cluster.nodes.get(1)!);
        const md = await partitionLeaders(c1, TOPIC);
        c1.conn.close();
        expect(parts.partitions.filter((p) => p.topic === TOPIC).map((p) => [p.leader, p.epoch])).toEqual(md.map((p) => [p.leader, p.epoch]));
        for (const p of parts.partitions) expect(p.expiresAt).toBeGreaterThan(parts.now);
        const brokers = (await run('brokers')) as { brokers: Array<{ nodeId: number; partitions: number }> };
        expect(brokers.brokers.reduce((n, b) => n + b.partitions, 0)).toBe(PARTITIONS);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
  });
});
