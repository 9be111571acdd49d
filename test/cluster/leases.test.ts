// Leases in a running cluster: three in-process brokers on one data dir and a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { connect, partitionLeaders, produceTo, sleep, startCluster, waitFor, type InProcessCluster } from './fixture.js';
import { CreateTopics, Fetch, ListOffsets, Metadata } from '../../api/cli/client/apis.js';
import { decodeBatches } from '../log/batch-builder.js';

process.env.FLOE_LEASE_TTL_MS = '4000';
process.env.FLOE_HEARTBEAT_MS = '300';

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
          const c = await connect(node);
          try {
            const r = await produceTo(c, TOPIC, p.partition, 3, `p${p.partition}-n${id}-`);
            if (id === p.leader) expect(r.errorCode).toBe(ErrorCode.NONE);
            else expect(r.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
          } finally {
            c.conn.close();
          }
        }
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
      for (const m of moved) expect(after[m.partition]!.epoch).toBe(m.epoch + 1);
      for (const p of after) expect(p.replicas).not.toContain(victim);
      // Each partition holds the 3 records acknowledged earlier; the new leader appends after them.
      for (const p of after) {
        const leader = await connect(cluster.nodes.get(p.leader)!);
        try {
          const r = await produceTo(leader, TOPIC, p.partition, 2, 'after-');
          expect(r).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 3 });
          const lo = await leader.send(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] });
          expect(lo.topics[0]!.partitions[0]!.offset).toBe(5);
        } finally {
          leader.conn.close();
        }
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
      expect(fromLeader.values.length).toBe(5);
      for (const id of cluster.nodes.keys()) {
        const r = await fetchFrom(id, TOPIC, p.partition, 0);
        expect(r).toEqual(fromLeader);
        const c = await connect(cluster.nodes.get(id)!);
        const lo = await c.send(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] });
        c.conn.close();
        expect(lo.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 5 });
      }
    }
  });

  it('wakes a long-polling fetch on a non-leader when the leader appends', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    const p = (await partitionLeaders(c1, TOPIC))[0]!;
    c1.conn.close();
    const reader = [...cluster.nodes.keys()].find((id) => id !== p.leader)!;
    const waiting = fetchFrom(reader, TOPIC, p.partition, 5, 20_000);
    await sleep(300);
    const lc = await connect(cluster.nodes.get(p.leader)!);
    expect((await produceTo(lc, TOPIC, p.partition, 1, 'tail-')).errorCode).toBe(ErrorCode.NONE);
    lc.conn.close();
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
  });
});
