// Failover with real processes: a leader killed with SIGKILL, and one paused with SIGSTOP past its
// lease TTL (a zombie), on one shared data dir with a real PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { openNode, type NodeConnection } from '../../broker/client/kafka-client.js';
import { CreateTopics, Fetch, Metadata } from '../../broker/client/apis.js';
import { decodeBatches } from '../log/batch-builder.js';
import { partitionLeaders, produceTo, sleep, waitFor } from './fixture.js';

const TTL_MS = 2000;
let pg: PostgresHandle;
let dataDir: string;
const brokers = new Map<number, BrokerHandle>();

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('failover');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-failover-'));
  for (const id of [1, 2, 3]) {
    brokers.set(id, await startBroker({ dataDir, args: ['--control', url, '--node-id', String(id)], env: { FLOE_LEASE_TTL_MS: String(TTL_MS), FLOE_HEARTBEAT_MS: '300' } }));
  }
});

afterAll(async () => {
  for (const b of brokers.values()) {
    try {
      process.kill(b.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await b.kill();
  }
  rmSync(dataDir, { recursive: true, force: true });
  await pg?.stop();
});

async function conn(id: number): Promise<NodeConnection> {
  return openNode('127.0.0.1', brokers.get(id)!.kafkaPort);
}

/** Every record value in the partition, read from its current leader. */
async function readAll(c: NodeConnection, topic: string, partition: number): Promise<Array<{ offset: number; value: string }>> {
  const out: Array<{ offset: number; value: string }> = [];
  const md = await c.send(Metadata, { topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  const topicId = md.topics[0]!.topicId;
  for (;;) {
    const res = await c.send(Fetch, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: out.length === 0 ? 0 : out[out.length - 1]!.offset + 1, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = res.responses[0]!.partitions[0]!;
    if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch error ${p.errorCode}`);
    const recs = p.records && p.records.length > 0 ? decodeBatches(p.records).flatMap((b) => b.values.map((value, i) => ({ offset: b.baseOffset + i, value }))) : [];
    if (recs.length === 0) return out;
    out.push(...recs);
  }
}

async function leaderOf(viaId: number, topic: string, partition: number, notId?: number): Promise<{ leader: number; epoch: number }> {
  const c = await conn(viaId);
  try {
    return await waitFor(`a live leader for ${topic}-${partition}`, async () => {
      const p = (await partitionLeaders(c, topic))[partition];
      return p && p.leader > 0 && p.leader !== notId ? { leader: p.leader, epoch: p.epoch } : undefined;
    }, 30_000);
  } finally {
    c.conn.close();
  }
}

describe('failover', () => {
  it('moves a SIGKILLed leader\'s partition after the TTL with epoch + 1, losing no acknowledged record', async () => {
    const c = await conn(1);
    await c.send(CreateTopics, { topics: [{ name: 'k', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    c.conn.close();
    const first = await leaderOf(1, 'k', 0);
    const lc = await conn(first.leader);
    for (let i = 0; i < 5; i++) expect((await produceTo(lc, 'k', 0, 2, `a${i}-`)).errorCode).toBe(ErrorCode.NONE);
    lc.conn.close();
    await brokers.get(first.leader)!.kill();
    const via = [1, 2, 3].find((id) => id !== first.leader)!;
    const next = await leaderOf(via, 'k', 0, first.leader);
    expect(next.epoch).toBe(first.epoch + 1);
    const nc = await conn(next.leader);
    const r = await produceTo(nc, 'k', 0, 2, 'b-');
    expect(r).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 10 });
    const all = await readAll(nc, 'k', 0);
    nc.conn.close();
    expect(all.map((x) => x.offset)).toEqual([...Array(12).keys()]);
    expect(all.slice(10).map((x) => x.value)).toEqual(['b-0', 'b-1']);
    await brokers.get(first.leader)!.restart();
  });

  it('fences a leader paused past its TTL: it acknowledges nothing after waking and its late bytes stay invisible', async () => {
    const c = await conn(1);
    await c.send(CreateTopics, { topics: [{ name: 'z', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    c.conn.close();
    const first = await leaderOf(1, 'z', 0);
    const zc = await conn(first.leader);
    expect((await produceTo(zc, 'z', 0, 3, 'ok-')).errorCode).toBe(ErrorCode.NONE);
    const zombie = brokers.get(first.leader)!;
    process.kill(zombie.pid, 'SIGSTOP');
    // Sent while paused: the zombie reads it only when it wakes, after its lease has expired.
    const late = produceTo(zc, 'z', 0, 4, 'late-');
    const via = [1, 2, 3].find((id) => id !== first.leader)!;
    const next = await leaderOf(via, 'z', 0, first.leader);
    expect(next.epoch).toBe(first.epoch + 1);
    const nc = await conn(next.leader);
    expect(await produceTo(nc, 'z', 0, 2, 'new-')).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 3 });
    process.kill(zombie.pid, 'SIGCONT');
    const lateRes = await late;
    expect(lateRes.errorCode).not.toBe(ErrorCode.NONE);
    zc.conn.close();
    nc.conn.close();
    // The woken broker is live again and may get its partition back (epoch + 2): find the leader.
    await sleep(1500);
    const third = await leaderOf(via, 'z', 0);
    expect(third.epoch).toBeGreaterThanOrEqual(next.epoch);
    const tc = await conn(third.leader);
    expect(await produceTo(tc, 'z', 0, 1, 'new2-')).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 5 });
    const all = await readAll(tc, 'z', 0);
    tc.conn.close();
    expect(all.map((x) => x.value)).toEqual(['ok-0', 'ok-1', 'ok-2', 'new-0', 'new-1', 'new2-0']);
    expect(all.map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
