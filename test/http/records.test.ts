// Records over HTTP: produce/read in every format, interop with kafkajs and kcat both ways, SSE.
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kcat } from '../harness/kcat.js';
import { eventually, startTestNode, type TestNode } from './helpers.js';

let n: TestNode;
let kafka: Kafka;
const hasKcat = spawnSync('kcat', ['-V']).status === 0;

beforeAll(async () => {
  n = await startTestNode();
  kafka = new Kafka({ brokers: [n.bootstrap], clientId: 'http-records-test', logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await n?.close();
});

async function topic(name: string, partitions = 1, configs?: Record<string, string>): Promise<void> {
  const r = await n.call('POST', '/v1/topics', { name, partitions, ...(configs ? { configs } : {}) });
  expect(r.status).toBe(201);
}

describe('produce and read', () => {
  test('json, text and binary round trip with keys, headers and timestamps', async () => {
    await topic('rec-fmt');
    const json = await n.call('POST', '/v1/topics/rec-fmt/records', {
      records: [
        { key: { id: 1 }, value: { hello: 'world', n: [1, 2] }, headers: [{ key: 'h', value: 'v' }], timestamp: 1_700_000_000_000 },
        { value: null },
      ],
    });
    expect(json.status).toBe(200);
    expect(json.body.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    const text = await n.call('POST', '/v1/topics/rec-fmt/records', { format: 'text', records: [{ key: 'k', value: 'plain text' }] });
    expect(text.body.offsets).toEqual([{ partition: 0, offset: 2 }]);
    const bin = await n.call('POST', '/v1/topics/rec-fmt/records', { format: 'binary', records: [{ key: Buffer.from([0, 255]).toString('base64'), value: Buffer.from([1, 2, 3]).toString('base64'), headers: [{ key: 'b', value: Buffer.from([9]).toString('base64') }] }] });
    expect(bin.body.offsets).toEqual([{ partition: 0, offset: 3 }]);

    const asJson = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?limit=2');
    expect(asJson.body.records).toEqual([
      { topic: 'rec-fmt', partition: 0, offset: 0, timestamp: 1_700_000_000_000, key: { id: 1 }, value: { hello: 'world', n: [1, 2] }, headers: [{ key: 'h', value: 'v' }] },
      { topic: 'rec-fmt', partition: 0, offset: 1, timestamp: expect.any(Number), key: null, value: null, headers: [] },
    ]);
    expect(asJson.body.next_offset).toBe(2);
    expect(asJson.body.high_watermark).toBe(4);

    const asText = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?offset=0&format=text');
    expect(asText.body.records.map((r: { value: string | null }) => r.value)).toEqual(['{"hello":"world","n":[1,2]}', null, 'plain text', '\u0001\u0002\u0003']);
    const asBin = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?offset=3&format=binary');
    expect(asBin.body.records[0]).toMatchObject({ key: 'AP8=', value: 'AQID', headers: [{ key: 'b', value: 'CQ==' }] });

    // A record that is not JSON cannot be shown as json.
    const notJson = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?offset=2&format=json');
    expect(notJson.status).toBe(422);

    const byTime = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?timestamp=1700000000001&format=text');
    expect(byTime.body.records[0].offset).toBe(1);
    const end = await n.call('GET', '/v1/topics/rec-fmt/partitions/0/records?offset=4');
    expect(end.body).toMatchObject({ records: [], next_offset: 4 });
  });

  test('keys are partitioned like Kafka clients (murmur2); null keys spread round robin', async () => {
    await topic('rec-keys', 6);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const r = await n.call('POST', '/v1/topics/rec-keys/records', { format: 'text', records: keys.map((k) => ({ key: k, value: 'x' })) });
    expect(r.status).toBe(200);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const expected = keys.map((k) => partitioner({ topic: 'rec-keys', partitionMetadata, message: { key: k, value: 'x' } }));
    expect(r.body.offsets.map((o: { partition: number }) => o.partition)).toEqual(expected);
    const nulls = await n.call('POST', '/v1/topics/rec-keys/records', { records: Array.from({ length: 12 }, () => ({ value: 1 })) });
    const counts = new Map<number, number>();
    for (const o of nulls.body.offsets) counts.set(o.partition, (counts.get(o.partition) ?? 0) + 1);
    expect([...counts.values()]).toEqual([2, 2, 2, 2, 2, 2]);
  });

  test('bad produce input', async () => {
    await topic('rec-bad', 2);
    const status = async (body: unknown, path = '/v1/topics/rec-bad/records') => {
      const r = await n.call('POST', path, body);
      expect(Object.keys(r.body ?? {}).sort(), JSON.stringify(r.body)).toEqual(['error_code', 'message']);
      return r;
    };
    expect((await status({ records: [] })).status).toBe(400);
    expect((await status({ records: [{ value: 1, partition: -1 }] })).status).toBe(400);
    expect((await status({ records: [{ value: 1, bogus: true }] })).status).toBe(400);
    expect((await status({ format: 'xml', records: [{ value: 1 }] })).status).toBe(400);
    expect((await status({ format: 'text', records: [{ value: 5 }] })).status).toBe(400);
    expect((await status({ format: 'binary', records: [{ value: '***' }] })).status).toBe(400);
    expect((await status({ records: [{ value: 1 }] }, '/v1/topics/no-such/records')).status).toBe(404);
    const p = await status({ records: [{ value: 1, partition: 2 }] });
    expect(p.status).toBe(404);
    expect(p.body.error_code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    // Timestamp far in the future: Kafka's message.timestamp.after.max.ms check.
    const ts = await status({ records: [{ value: 1, timestamp: Date.now() + 10 * 24 * 3600_000 }] });
    expect(ts.status).toBe(422);
    expect(ts.body.error_code).toBe('INVALID_TIMESTAMP');
    // One record larger than max.message.bytes.
    await topic('rec-small', 1, { 'max.message.bytes': '1000' });
    const big = await status({ format: 'text', records: [{ value: 'x'.repeat(5000) }] }, '/v1/topics/rec-small/records');
    expect(big.status).toBe(413);
    // A body over the route limit.
    const huge = await status({ format: 'text', records: [{ value: 'y'.repeat(9 * 1024 * 1024) }] });
    expect(huge.status).toBe(413);
    // Compacted topics need keys.
    await topic('rec-compact', 1, { 'cleanup.policy': 'compact' });
    const nokey = await status({ records: [{ value: 1 }] }, '/v1/topics/rec-compact/records');
    expect(nokey.status).toBe(422);
    expect((await n.call('POST', '/v1/topics/rec-compact/records', { records: [{ key: 'k', value: 1 }] })).status).toBe(200);
  });

  test('bad read input', async () => {
    await topic('rec-read');
    await n.call('POST', '/v1/topics/rec-read/records', { records: [{ value: 1 }] });
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/0/records?offset=5')).status).toBe(422);
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/0/records?offset=0&timestamp=0')).status).toBe(400);
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/0/records?limit=0')).status).toBe(400);
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/0/records?offset=abc')).status).toBe(400);
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/0/records?what=1')).status).toBe(400);
    expect((await n.call('GET', '/v1/topics/rec-read/partitions/1/records')).status).toBe(404);
    expect((await n.call('GET', '/v1/topics/nope/partitions/0/records')).status).toBe(404);
  });
});

describe('interop with Kafka clients', () => {
  test('records produced over HTTP are read by kafkajs, and the reverse', async () => {
    await topic('rec-interop', 3);
    const produced = await n.call('POST', '/v1/topics/rec-interop/records', {
      format: 'text',
      records: Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: [{ key: 'src', value: 'http' }] })),
    });
    const consumer = kafka.consumer({ groupId: 'rec-interop-kjs' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'rec-interop', fromBeginning: true });
    const seen: Array<{ key: string; value: string; partition: number; offset: string; src: string }> = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ key: message.key!.toString(), value: message.value!.toString(), partition, offset: message.offset, src: String(message.headers?.src) });
      },
    });
    await eventually(async () => seen.length >= 9, 'kafkajs to read 9 records');
    await consumer.disconnect();
    const want = produced.body.offsets.map((o: { partition: number; offset: number }, i: number) => ({ key: `k${i}`, value: `v${i}`, partition: o.partition, offset: String(o.offset), src: 'http' }));
    const sort = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    expect([...seen].sort(sort)).toEqual([...want].sort(sort));

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const meta = await producer.send({ topic: 'rec-interop', messages: [{ key: 'from-kafkajs', value: JSON.stringify({ a: 1 }), headers: { h: 'x' } }] });
    await producer.disconnect();
    const { partition, baseOffset } = meta[0]!;
    const read = await n.call('GET', `/v1/topics/rec-interop/partitions/${partition}/records?offset=${baseOffset}&format=text`);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.records[0]).toMatchObject({ key: 'from-kafkajs', value: '{"a":1}', headers: [{ key: 'h', value: 'x' }], offset: Number(baseOffset) });
    // Same key over HTTP lands on the same partition kafkajs chose.
    const again = await n.call('POST', '/v1/topics/rec-interop/records', { format: 'text', records: [{ key: 'from-kafkajs', value: 'again' }] });
    expect(again.body.offsets[0].partition).toBe(partition);
  });

  test.skipIf(!hasKcat)('kcat reads HTTP records and HTTP reads kcat records', async () => {
    await topic('rec-kcat');
    await n.call('POST', '/v1/topics/rec-kcat/records', { format: 'text', records: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }] });
    const out = await kcat(['-b', n.bootstrap, '-t', 'rec-kcat', '-C', '-o', 'beginning', '-e', '-q', '-f', '%k=%s@%o\n']);
    expect(out.stdout.trim().split('\n')).toEqual(['a=one@0', 'b=two@1']);
    await kcat(['-b', n.bootstrap, '-t', 'rec-kcat', '-P', '-K', ':', '-p', '0'], { input: 'c:three\nd:four\n' });
    const read = await n.call('GET', '/v1/topics/rec-kcat/partitions/0/records?offset=2&format=text');
    expect(read.body.records.map((r: { key: string; value: string; offset: number }) => `${r.key}=${r.value}@${r.offset}`)).toEqual(['c=three@2', 'd=four@3']);
  });
});

describe('server-sent events', () => {
  test('follows a topic live and resumes from Last-Event-ID', async () => {
    await topic('rec-sse', 2);
    await n.call('POST', '/v1/topics/rec-sse/records', { records: [{ value: 'old', partition: 0 }] });
    const ac = new AbortController();
    const res = await fetch(`${n.base}/v1/topics/rec-sse/stream?from=latest`, { headers: { authorization: `Bearer ${n.token}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const events: Array<{ id: string; data: { value: unknown; partition: number; offset: number } }> = [];
    let buf = '';
    let opened = false;
    const pump = (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        opened = true;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data && /^event: record$/m.test(block)) events.push({ id, data: JSON.parse(data) });
        }
      }
    })().catch(() => undefined);
    // Wait until the stream is open (its first comment) before producing.
    await eventually(async () => opened, 'stream to open');
    await n.call('POST', '/v1/topics/rec-sse/records', { records: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] });
    await n.call('POST', '/v1/topics/rec-sse/records', { records: [{ value: 'c', partition: 0 }] });
    await eventually(async () => events.length >= 3, 'three events');
    ac.abort();
    await pump;
    expect(events.map((e) => e.data.value).sort()).toEqual(['a', 'b', 'c']);
    expect(events.some((e) => e.data.value === 'old')).toBe(false);
    const last = events[events.length - 1]!;
    expect(last.id).toBe('0:3,1:1');

    await n.call('POST', '/v1/topics/rec-sse/records', { records: [{ value: 'd', partition: 1 }] });
    const ac2 = new AbortController();
    const res2 = await fetch(`${n.base}/v1/topics/rec-sse/stream?from=earliest`, { headers: { authorization: `Bearer ${n.token}`, 'last-event-id': last.id }, signal: ac2.signal });
    const r2 = res2.body!.getReader();
    let text = '';
    await eventually(async () => {
      const { value } = await r2.read();
      text += new TextDecoder().decode(value);
      return text.includes('event: record');
    }, 'resumed event');
    ac2.abort();
    const first = JSON.parse(/^data: (.*)$/m.exec(text)![1]!);
    expect(first).toMatchObject({ partition: 1, offset: 1, value: 'd' });
  });

  test('bad stream input', async () => {
    expect((await n.call('GET', '/v1/topics/nope/stream')).status).toBe(404);
    await topic('rec-sse-bad');
    expect((await n.call('GET', '/v1/topics/rec-sse-bad/stream?from=yesterday')).status).toBe(400);
    expect((await n.call('GET', '/v1/topics/rec-sse-bad/stream?partitions=3')).status).toBe(404);
  });
});
