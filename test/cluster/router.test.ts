// PartitionRouter in a real cluster: one in-process broker (whose router is driven directly) and
// two `floe serve` processes on one shared data dir and one PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { startCluster, waitFor, type InProcessCluster } from './fixture.js';
import { valuesBatch, decodeBatches } from '../log/batch-builder.js';
import type { FloeNode } from '../../api/node.js';
import type { PartitionView } from '../../broker/cluster/router.js';

const TTL_MS = 2000;
const TOKEN = 'router-test-token';
const TOPIC = 'routed';
const PARTITIONS = 8;
let pg: PostgresHandle;
let cluster: InProcessCluster;
let node: FloeNode;
const procs = new Map<number, BrokerHandle>();

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('router');
  cluster = await startCluster(url, [1], { leaseTtlMs: TTL_MS, heartbeatMs: 300 });
  node = cluster.nodes.get(1)!;
  for (const id of [2, 3]) {
    procs.set(id, await startBroker({ dataDir: cluster.dataDir, args: ['--control', url, '--node-id', String(id)], env: { FLOE_LEASE_TTL_MS: String(TTL_MS), FLOE_HEARTBEAT_MS: '300', FLOE_API_TOKENS: TOKEN } }));
  }
  await node.broker.topics.create({ name: TOPIC, partitions: PARTITIONS, replicationFactor: -1, configs: {} });
});

afterAll(async () => {
  for (const p of procs.values()) await p.kill();
  await cluster?.close();
  await pg?.stop();
});

/** A partition of TOPIC led by one of the processes (not the in-process node), with its leader. */
async function partitionLedElsewhere(exclude: number[] = []): Promise<{ partition: number; leader: number }> {
  return waitFor('a partition led by a broker process', async () => {
    for (let p = 0; p < PARTITIONS; p++) {
      const { leaderId } = node.broker.cluster!.leaderOf(TOPIC, p);
      if (leaderId > 1 && !exclude.includes(leaderId) && procs.has(leaderId)) return { partition: p, leader: leaderId };
    }
    return undefined;
  }, 30_000);
}

async function readValues(view: PartitionView, from: number, upTo: number): Promise<string[]> {
  const out: string[] = [];
  let pos = from;
  while (pos < upTo) {
    const buf = await view.read(pos, 1 << 20, { minOneBatch: true });
    if (buf.length === 0) break;
    for (const b of decodeBatches(buf)) {
      b.values.forEach((v, i) => {
        if (b.baseOffset + i >= pos && b.baseOffset + i < upTo) out.push(v);
      });
      pos = Math.max(pos, b.baseOffset + b.values.length);
    }
  }
  return out;
}

async function httpRecords(port: number, partition: number, offset: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/topics/${TOPIC}/partitions/${partition}/records?offset=${offset}&format=text`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { records: Array<{ value: string }> };
  return body.records.map((r) => r.value);
}

describe('PartitionRouter', () => {
  it('appends on a non-leader into the leader\'s log, readable from every broker', async () => {
    const { partition, leader } = await partitionLedElsewhere();
    const router = node.broker.router;
    expect(router.leads(TOPIC, partition)).toBe(false);
    const r1 = await router.append(TOPIC, partition, valuesBatch(3, 'a'));
    const r2 = await router.append(TOPIC, partition, valuesBatch(2, 'b'));
    expect(r1.lastOffset - r1.baseOffset).toBe(2);
    expect(r2.baseOffset).toBe(r1.lastOffset + 1);
    expect(r2.lastOffset).toBe(r2.baseOffset + 1);

    // The leader serves them from its own log...
    expect(await httpRecords(procs.get(leader)!.httpPort, partition, r1.baseOffset)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    // ...the other process from the shared medium...
    const other = [...procs.keys()].find((id) => id !== leader)!;
    await waitFor('the other process to see the records', async () => ((await httpRecords(procs.get(other)!.httpPort, partition, r1.baseOffset)).length === 5 ? true : undefined));
    // ...and the router's own view here too.
    const view = await waitFor('a view with the records', async () => {
      const v = await router.view(TOPIC, partition);
      return v && v.highWatermark > r2.lastOffset ? v : undefined;
    });
    expect(await readValues(view, r1.baseOffset, r2.lastOffset + 1)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
  });

  it('appends locally on a partition this broker leads', async () => {
    const p = await waitFor('a partition led in-process', async () => {
      for (let i = 0; i < PARTITIONS; i++) if (node.broker.router.leads(TOPIC, i)) return i;
      return undefined;
    }, 30_000);
    const before = node.broker.topics.partition(TOPIC, p)!.highWatermark;
    const r = await node.broker.router.append(TOPIC, p, valuesBatch(4, 'l'));
    expect(r.baseOffset).toBe(before);
    expect(node.broker.topics.partition(TOPIC, p)!.highWatermark).toBe(before + 4);
  });

  it('keeps retrying an append across a SIGKILL of the leader and lands it after the lease TTL', async () => {
    const { partition, leader } = await partitionLedElsewhere();
    const router = node.broker.router;
    const first = await router.append(TOPIC, partition, valuesBatch(1, 'before'));
    await procs.get(leader)!.kill();
    const r = await router.append(TOPIC, partition, valuesBatch(2, 'after'), { deadlineMs: 30_000 });
    expect(r.baseOffset).toBeGreaterThan(first.lastOffset);
    const newLeader = node.broker.cluster!.leaderOf(TOPIC, partition).leaderId;
    expect(newLeader).not.toBe(leader);
    const view = await waitFor('the new records to be readable', async () => {
      const v = await router.view(TOPIC, partition);
      return v && v.highWatermark > r.lastOffset ? v : undefined;
    });
    const values = await readValues(view, first.baseOffset, r.lastOffset + 1);
    // Acknowledged records survive the takeover; the retried append is there (at least once).
    expect(values[0]).toBe('before0');
    expect(values.slice(-2)).toEqual(['after0', 'after1']);
    await procs.get(leader)!.restart();
    // The harness waits for the Kafka port; the HTTP listener comes up a little later.
    await waitFor('the restarted broker\'s HTTP API', async () => ((await fetch(`http://127.0.0.1:${procs.get(leader)!.httpPort}/v1/topics`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => null))?.status === 200 ? true : undefined), 30_000);
  });

  it('HTTP produce on a broker that does not lead the partition, HTTP reads (also by timestamp) on another', async () => {
    // A partition process 2 does not lead: led by the in-process node or by process 3.
    const p = await waitFor('a partition not led by process 2', async () => {
      for (let i = 0; i < PARTITIONS; i++) {
        const { leaderId } = node.broker.cluster!.leaderOf(TOPIC, i);
        if (leaderId > 0 && leaderId !== 2) return i;
      }
      return undefined;
    }, 30_000);
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const t0 = Date.now();
    const res = await fetch(`http://127.0.0.1:${procs.get(2)!.httpPort}/v1/topics/${TOPIC}/records`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ format: 'text', records: [{ value: 'h0', partition: p }, { value: 'h1', partition: p }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { offsets: Array<{ partition: number; offset: number }> };
    expect(body.offsets.map((o) => o.partition)).toEqual([p, p]);
    const first = body.offsets[0]!.offset;
    expect(body.offsets[1]!.offset).toBe(first + 1);
    for (const id of [2, 3]) {
      await waitFor(`process ${id} to read the records`, async () => {
        const r = await fetch(`http://127.0.0.1:${procs.get(id)!.httpPort}/v1/topics/${TOPIC}/partitions/${p}/records?timestamp=${t0 - 1}&format=text`, { headers: auth });
        const b = (await r.json()) as { records: Array<{ value: string; offset: number }> };
        return b.records.length === 2 ? b.records : undefined;
      }).then((recs) => expect(recs.map((r) => [r.offset, r.value])).toEqual([[first, 'h0'], [first + 1, 'h1']]));
    }
  });

  it('gives up at the deadline when the topic does not exist', async () => {
    await expect(node.broker.router.append('no-such-topic', 0, valuesBatch(1), { deadlineMs: 500 })).rejects.toThrow(/UNKNOWN_TOPIC_OR_PARTITION/);
  });
});
