// Consumer instances (REST-proxy style) and group admin over HTTP against a real node.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestNode, type TestNode } from './helpers.js';

let n: TestNode;
beforeAll(async () => {
  n = await startTestNode();
});
afterAll(async () => {
  await n?.close();
});

type Row = { topic: string; partition: number; committed_offset: number | null; lag: number | null; log_end_offset: number; member_id: string | null };

async function createInstance(group: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await n.call('POST', `/v1/consumers/${group}`, { name, auto_offset_reset: 'earliest', ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.base_uri).toBe(`/v1/consumers/${group}/instances/${name}`);
  return r.body.base_uri as string;
}

async function pollAll(base: string, want: number): Promise<Array<{ partition: number; offset: number; value: unknown }>> {
  const got: Array<{ partition: number; offset: number; value: unknown }> = [];
  await eventually(async () => {
    const r = await n.call('GET', `${base}/records?timeout_ms=500`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    got.push(...r.body.records);
    return got.length >= want;
  }, `${want} records`);
  return got;
}

describe('consumer instances', () => {
  test('subscribe, poll, commit; group describe shows members, offsets and lag', async () => {
    await n.call('POST', '/v1/topics', { name: 'grp-a', partitions: 2 });
    await n.call('POST', '/v1/topics/grp-a/records', { records: [0, 1, 2, 3].map((i) => ({ value: i, partition: i % 2 })) });
    const base = await createInstance('g-a', 'c1', { auto_commit: false });
    expect((await n.call('POST', `${base}/subscription`, { topics: ['grp-a'] })).status).toBe(204);
    expect((await n.call('GET', `${base}/subscription`)).body).toEqual({ topics: ['grp-a'] });
    const recs = await pollAll(base, 4);
    expect(recs.map((r) => r.value).sort()).toEqual([0, 1, 2, 3]);
    const a = await n.call('GET', `${base}/assignments`);
    expect(a.body.stable).toBe(true);
    expect(a.body.partitions).toEqual([
      { topic: 'grp-a', partition: 0 },
      { topic: 'grp-a', partition: 1 },
    ]);
    expect(a.body.positions.map((p: { offset: number }) => p.offset)).toEqual([2, 2]);

    // Nothing committed yet (auto_commit off): lag is unknown.
    let d = await n.call('GET', '/v1/groups/g-a');
    expect(d.body.state).toBe('Stable');
    expect(d.body.members).toHaveLength(1);
    expect(d.body.members[0].assignments).toHaveLength(2);
    expect(d.body.offsets.map((o: Row) => o.committed_offset)).toEqual([null, null]);

    expect((await n.call('POST', `${base}/offsets`)).status).toBe(204);
    await n.call('POST', '/v1/topics/grp-a/records', { records: [{ value: 9, partition: 1 }, { value: 10, partition: 1 }] });
    d = await n.call('GET', '/v1/groups/g-a');
    const memberId = d.body.members[0].member_id;
    expect(d.body.offsets).toEqual([
      { topic: 'grp-a', partition: 0, committed_offset: 2, log_end_offset: 2, lag: 0, member_id: memberId },
      { topic: 'grp-a', partition: 1, committed_offset: 2, log_end_offset: 4, lag: 2, member_id: memberId },
    ]);
    expect(d.body.total_lag).toBe(2);

    // Explicit offsets.
    expect((await n.call('POST', `${base}/offsets`, { offsets: [{ topic: 'grp-a', partition: 1, offset: 3 }] })).status).toBe(204);
    d = await n.call('GET', '/v1/groups/g-a');
    expect(d.body.offsets[1].lag).toBe(1);

    const list = await n.call('GET', '/v1/groups');
    expect(list.body.groups).toContainEqual({ group_id: 'g-a', protocol_type: 'consumer', state: 'Stable' });
    expect((await n.call('GET', '/v1/groups?state=Empty')).body.groups.map((g: { group_id: string }) => g.group_id)).not.toContain('g-a');

    expect((await n.call('DELETE', base)).status).toBe(204);
    expect((await n.call('GET', `${base}/records`)).status).toBe(404);
    d = await n.call('GET', '/v1/groups/g-a');
    expect(d.body.state).toBe('Empty');
    expect(d.body.members).toEqual([]);
  });

  test('two HTTP instances and a kafkajs consumer share one group', async () => {
    await n.call('POST', '/v1/topics', { name: 'grp-b', partitions: 4 });
    const b1 = await createInstance('g-b', 'h1');
    const b2 = await createInstance('g-b', 'h2');
    await n.call('POST', `${b1}/subscription`, { topics: ['grp-b'] });
    await n.call('POST', `${b2}/subscription`, { topics: ['grp-b'] });
    const assigned = async (base: string) => (await n.call('GET', `${base}/assignments`)).body as { stable: boolean; partitions: Array<{ partition: number }> };
    // Each poll drives the instance; the first joiner rejoins once the second arrives.
    await eventually(async () => {
      await Promise.all([n.call('GET', `${b1}/records?timeout_ms=100`), n.call('GET', `${b2}/records?timeout_ms=100`)]);
      const [x, y] = [await assigned(b1), await assigned(b2)];
      return x.stable && y.stable && x.partitions.length === 2 && y.partitions.length === 2;
    }, 'two HTTP members with two partitions each');
    const all = [...(await assigned(b1)).partitions, ...(await assigned(b2)).partitions].map((p) => p.partition).sort();
    expect(all).toEqual([0, 1, 2, 3]);

    const kafka = new Kafka({ brokers: [n.bootstrap], clientId: 'grp-kjs', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'g-b', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'grp-b', fromBeginning: true });
    let kjsPartitions: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      kjsPartitions = (e.payload.memberAssignment['grp-b'] ?? []) as number[];
    });
    await consumer.run({ eachMessage: async () => undefined });
    try {
      await eventually(async () => {
        await Promise.all([n.call('GET', `${b1}/records?timeout_ms=100`), n.call('GET', `${b2}/records?timeout_ms=100`)]);
        const d = (await n.call('GET', '/v1/groups/g-b')).body;
        if (d.state !== 'Stable' || d.members.length !== 3) return false;
        const owned = d.members.flatMap((m: { assignments: Array<{ partition: number }> }) => m.assignments.map((a) => a.partition)).sort();
        return JSON.stringify(owned) === '[0,1,2,3]' && kjsPartitions.length > 0;
      }, 'a stable group of three members covering all partitions', 40_000);
    } finally {
      await consumer.disconnect();
    }
    await n.call('DELETE', b1);
    await n.call('DELETE', b2);
  });

  test('bad consumer input', async () => {
    await n.call('POST', '/v1/topics', { name: 'grp-c' });
    const base = await createInstance('g-c', 'dup');
    expect((await n.call('POST', '/v1/consumers/g-c', { name: 'dup' })).status).toBe(409);
    expect((await n.call('POST', '/v1/consumers/g-c', { session_timeout_ms: 10 })).status).toBe(400);
    expect((await n.call('POST', '/v1/consumers/g-c', { auto_offset_reset: 'middle' })).status).toBe(400);
    const noSub = await n.call('GET', `${base}/records?timeout_ms=0`);
    expect(noSub.status).toBe(409);
    expect((await n.call('POST', `${base}/subscription`, { topics: ['nope'] })).status).toBe(404);
    expect((await n.call('POST', `${base}/subscription`, { topics: [] })).status).toBe(400);
    expect((await n.call('GET', `${base}/records?timeout_ms=999999`)).status).toBe(400);
    expect((await n.call('GET', '/v1/consumers/g-c/instances/ghost/records')).status).toBe(404);
    expect((await n.call('DELETE', '/v1/consumers/g-c/instances/ghost')).status).toBe(404);
    // A created instance with no body at all is fine (every field has a default).
    const r = await n.call('POST', '/v1/consumers/g-c');
    expect(r.status).toBe(201);
    await n.call('DELETE', r.body.base_uri);
    await n.call('DELETE', base);
  });
});

describe('group admin', () => {
  test('reset offsets of an inactive group, refuse while active, delete', async () => {
    await n.call('POST', '/v1/topics', { name: 'grp-r', partitions: 2 });
    await n.call('POST', '/v1/topics/grp-r/records', { records: [0, 1, 2, 3, 4].map((i) => ({ value: i, partition: 0 })) });
    const reset = async (body: unknown) => n.call('POST', '/v1/groups/g-r/offsets/reset', body);
    let r = await reset({ topic: 'grp-r', to: 'latest' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.offsets.map((o: Row) => [o.partition, o.committed_offset, o.lag])).toEqual([
      [0, 5, 0],
      [1, 0, 0],
    ]);
    r = await reset({ topic: 'grp-r', partitions: [0], to: 'offset', offset: 2 });
    expect(r.body.offsets.map((o: Row) => [o.partition, o.committed_offset, o.lag])).toEqual([[0, 2, 3]]);
    r = await reset({ topic: 'grp-r', to: 'earliest', partitions: [0] });
    expect(r.body.offsets[0].committed_offset).toBe(0);
    r = await reset({ topic: 'grp-r', to: 'timestamp', timestamp: 0, partitions: [0] });
    expect(r.body.offsets[0].committed_offset).toBe(0);

    expect((await reset({ topic: 'grp-r', to: 'offset' })).status).toBe(400);
    expect((await reset({ topic: 'grp-r', to: 'sideways' })).status).toBe(400);
    expect((await reset({ topic: 'grp-r', to: 'offset', offset: 99, partitions: [0] })).status).toBe(422);
    expect((await reset({ topic: 'nope', to: 'earliest' })).status).toBe(404);
    expect((await reset({ topic: 'grp-r', to: 'earliest', partitions: [7] })).status).toBe(404);

    // The consumer starts from the reset offset, then the group is active: reset and delete refused.
    const base = await createInstance('g-r', 'c', { auto_offset_reset: 'latest' });
    await n.call('POST', `${base}/subscription`, { topics: ['grp-r'] });
    const recs = await pollAll(base, 5);
    expect(recs.map((x) => x.offset)).toEqual([0, 1, 2, 3, 4]);
    expect((await reset({ topic: 'grp-r', to: 'latest' })).status).toBe(409);
    expect((await n.call('DELETE', '/v1/groups/g-r')).status).toBe(409);
    await n.call('DELETE', base);
    expect((await n.call('DELETE', '/v1/groups/g-r')).status).toBe(204);
    expect((await n.call('GET', '/v1/groups/g-r')).status).toBe(404);
    expect((await n.call('DELETE', '/v1/groups/g-r')).status).toBe(404);
  });
});
