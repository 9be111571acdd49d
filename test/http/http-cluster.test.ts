// The HTTP API's consumer instances and group/topic admin on a cluster: three real `floe serve`
// processes on one data dir and a real PostgreSQL. Everything is asked of a broker that is
// neither the group's coordinator nor the leader of any of the topic's partitions.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { waitFor } from '../cluster/fixture.js';
import { KafkaClient } from '../../broker/client/kafka-client.js';
import { FindCoordinator } from '../../broker/client/apis.js';

const exec = promisify(execFile);
const TOKEN = 'http-cluster-token';
const IDS = [1, 2, 3];
const TOPIC = 'hc-events';
const PARTITIONS = 2;
const TOTAL = 300;

const run = postgresAvailable();
let pg: PostgresHandle;
let dataDir: string;
const brokers = new Map<number, BrokerHandle>();

beforeAll(async () => {
  if (!run) return;
  pg = await startPostgres();
  const url = await pg.createDatabase('http_cluster');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-http-cluster-'));
  for (const id of IDS) {
    brokers.set(
      id,
      await startBroker({ dataDir, args: ['--control', url, '--node-id', String(id)], env: { FLOE_LEASE_TTL_MS: '2000', FLOE_HEARTBEAT_MS: '300', FLOE_API_TOKENS: TOKEN } }),
    );
  }
});

afterAll(async () => {
  if (process.env.FLOE_TEST_DUMP === '1') for (const [id, b] of brokers) console.log(`--- broker ${id}\n${b.logs()}`);
  for (const b of brokers.values()) await b.kill().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await pg?.stop();
});

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

async function call(id: number, method: string, url: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${brokers.get(id)!.httpPort}${url}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Prometheus text, not JSON.
  }
  return { status: res.status, body: parsed, text };
}

function kafka(): Kafka {
  return new Kafka({ brokers: IDS.map((i) => brokers.get(i)!.bootstrap), clientId: 'http-cluster', logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200 } });
}

/** The broker a group's FindCoordinator names (asking also makes that broker take the group). */
async function coordinatorOf(groupId: string): Promise<number> {
  const client = await KafkaClient.connect(brokers.get(1)!.bootstrap);
  try {
    return await waitFor(`a coordinator for ${groupId}`, async () => {
      const res = await client.bootstrap.send(FindCoordinator, { key: groupId, keyType: 0, coordinatorKeys: [groupId] });
      const c = client.bootstrap.version(FindCoordinator) >= 4 ? res.coordinators[0] : res;
      return c && c.errorCode === 0 && c.nodeId > 0 ? c.nodeId : undefined;
    });
  } finally {
    await client.close();
  }
}

function logsOnFailure<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: Error) => {
    const tail = [...brokers].map(([id, b]) => `--- broker ${id} ---\n${b.logs().slice(-3000)}`).join('\n');
    throw new Error(`${err.message}\n${tail}`);
  });
}

type OffsetRow = { topic: string; partition: number; committed_offset: number | null; log_end_offset: number; lag: number | null; member_id: string | null };

describe.skipIf(!run)('HTTP API on a broker that neither coordinates the group nor leads the partitions', () => {
  it('consumer instance, group admin, partition offsets and lag metrics', async () => {
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    const leaders = await waitFor('a leader for every partition', async () => {
      const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      const ls = md.topics[0]!.partitions.map((p) => p.leader);
      return ls.length === PARTITIONS && ls.every((l) => l > 0) ? ls : undefined;
    });
    // Two partitions on three brokers: at least one broker leads none.
    const x = IDS.find((id) => !leaders.includes(id))!;
    let group = '';
    for (let i = 0; group === ''; i++) if ((await coordinatorOf(`hc-g${i}`)) !== x) group = `hc-g${i}`;
    const coordinator = await coordinatorOf(group);
    expect(coordinator).not.toBe(x);
    expect(leaders).not.toContain(x);

    const producer = k.producer();
    await producer.connect();
    const values = Array.from({ length: TOTAL }, (_, i) => `v${i}`);
    for (let i = 0; i < TOTAL; i += 100) {
      await producer.send({ topic: TOPIC, acks: -1, messages: values.slice(i, i + 100).map((v, j) => ({ key: `k${i + j}`, value: v })) });
    }
    const ends = new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, Number(o.high)]));
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);

    // Partition offsets on a broker that leads none of them: the leaders' high watermarks.
    const parts = await logsOnFailure(
      waitFor('partition offsets on the non-leader', async () => {
        const r = await call(x, 'GET', `/v1/topics/${TOPIC}/partitions`);
        if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
        return r.body.partitions.every((p: { partition: number; high_watermark: number }) => p.high_watermark === ends.get(p.partition)) ? r.body.partitions : undefined;
      }),
    );
    expect(parts.map((p: { leader: number }) => p.leader)).toEqual(leaders);
    expect(parts.map((p: { log_start_offset: number }) => p.log_start_offset)).toEqual([0, 0]);
    const one = await call(x, 'GET', `/v1/topics/${TOPIC}/partitions/1`);
    expect(one.body).toMatchObject({ partition: 1, leader: leaders[1], high_watermark: ends.get(1) });
    expect((await call(x, 'GET', `/v1/topics/${TOPIC}/partitions/2`)).status).toBe(404);
    const cl = await call(x, 'GET', '/v1/cluster/partitions');
    expect(cl.body.partitions.filter((p: { topic: string }) => p.topic === TOPIC).map((p: { leader: number }) => p.leader)).toEqual(leaders);

    // A REST consumer instance on x consumes everything and commits.
    const created = await call(x, 'POST', `/v1/consumers/${group}`, { name: 'rest-1', auto_offset_reset: 'earliest', auto_commit: false, format: 'text' });
    expect(created.status, created.text).toBe(201);
    const base = created.body.base_uri as string;
    expect((await call(x, 'POST', `${base}/subscription`, { topics: [TOPIC] })).status).toBe(204);
    const got: string[] = [];
    await logsOnFailure(
      waitFor(
        `${TOTAL} records through the REST consumer`,
        async () => {
          const r = await call(x, 'GET', `${base}/records?timeout_ms=1000&max_records=100`);
          if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
          got.push(...r.body.records.map((rec: { value: string }) => rec.value));
          return got.length >= TOTAL ? true : undefined;
        },
        60_000,
      ),
    );
    expect(got.length).toBe(TOTAL);
    expect(new Set(got)).toEqual(new Set(values));
    const assigned = await call(x, 'GET', `${base}/assignments`);
    expect(assigned.body.stable).toBe(true);
    expect(assigned.body.positions.map((p: { partition: number; offset: number }) => [p.partition, p.offset])).toEqual([...ends].sort((a, b) => a[0] - b[0]));
    expect((await call(x, 'POST', `${base}/offsets`)).status).toBe(204);

    // Describe through x: the member, committed offsets at the end, no lag.
    const d = await call(x, 'GET', `/v1/groups/${group}`);
    expect(d.status, d.text).toBe(200);
    expect(d.body.state).toBe('Stable');
    expect(d.body.members).toHaveLength(1);
    expect(d.body.members[0].client_id).toBe('floe-http-rest-1');
    const memberId = d.body.members[0].member_id as string;
    expect(d.body.offsets).toEqual([0, 1].map((p) => ({ topic: TOPIC, partition: p, committed_offset: ends.get(p), log_end_offset: ends.get(p), lag: 0, member_id: memberId })));
    expect(d.body.total_lag).toBe(0);
    // Listed (with its state) by every broker.
    for (const id of IDS) {
      const l = await call(id, 'GET', '/v1/groups');
      expect(l.body.groups, `broker ${id}`).toContainEqual({ group_id: group, protocol_type: 'consumer', state: 'Stable' });
    }
    // Active: reset and delete refused through x.
    expect((await call(x, 'POST', `/v1/groups/${group}/offsets/reset`, { topic: TOPIC, to: 'earliest' })).status).toBe(409);
    expect((await call(x, 'DELETE', `/v1/groups/${group}`)).status).toBe(409);

    // The Kafka view of the same group: the committed offsets are the coordinator's.
    const fetched = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
    expect(fetched[0]!.partitions.map((p) => [p.partition, Number(p.offset)]).sort((a, b) => a[0]! - b[0]!)).toEqual([...ends].sort((a, b) => a[0] - b[0]));

    // The instance leaves; a kafkajs member of the group starts at the committed offsets.
    expect((await call(x, 'DELETE', base)).status).toBe(204);
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `n${i}`, value: `new${i}` })) });
    const consumer = k.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await logsOnFailure(waitFor('the 10 new records in kafkajs', async () => (seen.length >= 10 ? true : undefined), 60_000));
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `new${i}`).sort());
    await consumer.disconnect();
    await producer.disconnect();

    // Now Empty: reset through x, checked through the Kafka API, the metric and another broker.
    await logsOnFailure(
      waitFor('the group to be Empty through x', async () => {
        const r = await call(x, 'GET', `/v1/groups/${group}`);
        return r.body.state === 'Empty' ? true : undefined;
      }),
    );
    const reset = await call(x, 'POST', `/v1/groups/${group}/offsets/reset`, { topic: TOPIC, to: 'earliest' });
    expect(reset.status, reset.text).toBe(200);
    const after = new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, Number(o.high)]));
    expect(reset.body.offsets.map((o: OffsetRow) => [o.partition, o.committed_offset])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const viaKafka = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
    expect(viaKafka[0]!.partitions.map((p) => Number(p.offset))).toEqual([0, 0]);
    const toOffset = await call(x, 'POST', `/v1/groups/${group}/offsets/reset`, { topic: TOPIC, to: 'offset', offset: 5, partitions: [1] });
    expect(toOffset.body.offsets).toEqual([{ topic: TOPIC, partition: 1, committed_offset: 5, log_end_offset: after.get(1), lag: after.get(1)! - 5, member_id: null }]);
    const other = IDS.find((id) => id !== x && id !== coordinator)!;
    const d2 = await logsOnFailure(
      waitFor('lag through another broker', async () => {
        const r = await call(other, 'GET', `/v1/groups/${group}`);
        return r.body.total_lag === after.get(0)! + after.get(1)! - 5 ? r.body : undefined;
      }),
    );
    expect(d2.state).toBe('Empty');
    expect(d2.members).toEqual([]);

    // Lag metrics come from the group's coordinator only (each group counted once).
    const metric = (text: string) => text.split('\n').filter((l) => l.startsWith('floe_consumer_group_lag{') && l.includes(`group="${group}"`));
    expect(metric((await call(coordinator, 'GET', '/metrics')).text)).toHaveLength(PARTITIONS);
    expect(metric((await call(x, 'GET', '/metrics')).text)).toEqual([]);

    // The CLI (Kafka wire) bootstrapped at x sees the same.
    const cli = await exec(process.execPath, [path.join(REPO_ROOT, 'bin/floe.js'), 'group', 'describe', group, '--json', '--brokers', brokers.get(x)!.bootstrap]);
    expect(JSON.parse(cli.stdout).totalLag).toBe(after.get(0)! + after.get(1)! - 5);

    // A group that exists only through a reset (commits, never a member) is listed everywhere.
    let fresh = '';
    for (let i = 0; fresh === ''; i++) if ((await coordinatorOf(`hc-fresh${i}`)) !== x) fresh = `hc-fresh${i}`;
    expect((await call(x, 'POST', `/v1/groups/${fresh}/offsets/reset`, { topic: TOPIC, to: 'latest' })).status).toBe(200);
    for (const id of IDS) {
      const l = await call(id, 'GET', '/v1/groups?state=Empty');
      expect(l.body.groups.map((g: { group_id: string }) => g.group_id), `broker ${id}`).toEqual(expect.arrayContaining([group, fresh]));
    }

    // Delete through x; gone for every broker and for Kafka clients.
    expect((await call(x, 'DELETE', `/v1/groups/${group}`)).status).toBe(204);
    expect((await call(x, 'GET', `/v1/groups/${group}`)).status).toBe(404);
    expect((await call(other, 'GET', `/v1/groups/${group}`)).status).toBe(404);
    expect((await call(x, 'DELETE', `/v1/groups/${group}`)).status).toBe(404);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(group);
    for (const id of IDS) expect((await call(id, 'GET', '/v1/groups')).body.groups.map((g: { group_id: string }) => g.group_id)).not.toContain(group);
    await admin.disconnect();
  }, 240_000);

  it('a consumer instance keeps consuming and committing after its group coordinator is killed', async () => {
    const k = kafka();
    const admin = k.admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    const leaders = md.topics[0]!.partitions.map((p) => p.leader);
    const x = IDS.find((id) => !leaders.includes(id))!;
    let group = '';
    for (let i = 0; group === ''; i++) if ((await coordinatorOf(`hc-fo${i}`)) !== x) group = `hc-fo${i}`;
    const victim = await coordinatorOf(group);

    const created = await call(x, 'POST', `/v1/consumers/${group}`, { name: 'rest-fo', auto_offset_reset: 'latest', auto_commit: false, format: 'text', session_timeout_ms: 6000 });
    expect(created.status, created.text).toBe(201);
    const base = created.body.base_uri as string;
    expect((await call(x, 'POST', `${base}/subscription`, { topics: [TOPIC] })).status).toBe(204);
    // Positions start at the end (latest); nothing to read yet.
    await logsOnFailure(
      waitFor('a stable instance with both partitions', async () => {
        await call(x, 'GET', `${base}/records?timeout_ms=200`);
        const a = await call(x, 'GET', `${base}/assignments`);
        return a.body.stable && a.body.positions.length === PARTITIONS ? true : undefined;
      }),
    );
    expect((await call(x, 'POST', `${base}/offsets`)).status).toBe(204);

    await brokers.get(victim)!.kill();
    const survivors = IDS.filter((id) => id !== victim);
    const k2 = new Kafka({ brokers: survivors.map((i) => brokers.get(i)!.bootstrap), clientId: 'http-cluster-fo', logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200 } });
    const producer = k2.producer();
    await producer.connect();
    const fresh = Array.from({ length: 20 }, (_, i) => `after-kill-${i}`);
    await producer.send({ topic: TOPIC, acks: -1, messages: fresh.map((v) => ({ key: v, value: v })) });
    await producer.disconnect();

    const got = new Set<string>();
    await logsOnFailure(
      waitFor(
        'the records produced after the kill',
        async () => {
          const r = await call(x, 'GET', `${base}/records?timeout_ms=1000`);
          if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
          for (const rec of r.body.records as Array<{ value: string }>) got.add(rec.value);
          return fresh.every((v) => got.has(v)) ? true : undefined;
        },
        60_000,
      ),
    );
    expect([...got].filter((v) => !fresh.includes(v))).toEqual([]);
    // Committed at the new coordinator (retried while the group's lease moves).
    await logsOnFailure(
      waitFor('a commit at the new coordinator', async () => {
        const r = await call(x, 'POST', `${base}/offsets`);
        if (r.status !== 204) throw new Error(`${r.status} ${r.text}`);
        return true;
      }, 30_000),
    );
    const admin2 = k2.admin();
    await admin2.connect();
    const ends = new Map((await admin2.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, Number(o.high)]));
    await admin2.disconnect();
    const d = await logsOnFailure(
      waitFor('the group described through x with no lag', async () => {
        const r = await call(x, 'GET', `/v1/groups/${group}`);
        return r.status === 200 && r.body.state === 'Stable' && r.body.total_lag === 0 && r.body.offsets.length === PARTITIONS ? r.body : undefined;
      }, 30_000),
    );
    expect(d.members).toHaveLength(1);
    expect(d.offsets.map((o: OffsetRow) => o.committed_offset)).toEqual([0, 1].map((p) => ends.get(p)));
    expect((await call(x, 'DELETE', base)).status).toBe(204);
    await admin.disconnect().catch(() => undefined);
  }, 180_000);
});
