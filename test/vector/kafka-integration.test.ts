// Tables through Kafka: kafkajs reads the compacted changelog (snapshot, then tail); kcat writes
// rows through the input topic and asks queries through the query topic.
import { Kafka, logLevel, type EachMessagePayload } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcat } from '../harness/kcat.js';
import { kcatAvailable, requireTool } from '../harness/tools.js';
import { eventually, startTestNode, type TestNode } from '../http/helpers.js';
import { tableGroups, tableTopics } from '../../vector/table-topics.js';

let t: TestNode;

const schema = {
  name: 'docs',
  primaryKey: 'id',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'lang', type: 'string', nullable: true },
  ],
  vectors: [{ name: 'vec', dim: 3, metric: 'l2' }],
};

beforeAll(async () => {
  t = await startTestNode();
  const r = await t.call('POST', '/v1/tables', schema);
  expect(r.status).toBe(201);
});

afterAll(async () => {
  await t?.close();
});

describe('table changelog on a compacted topic', () => {
  it('is a compacted topic that kafkajs consumes: snapshot, then tail', async () => {
    const topics = tableTopics('docs');
    expect(t.node.broker.topics.get(topics.changelog)?.configs['cleanup.policy']).toBe('compact');
    expect((await t.call('POST', '/v1/tables/docs/rows', { rows: [
      { id: 'a', lang: 'en', vec: [1, 0, 0] },
      { id: 'b', lang: 'de', vec: [0, 1, 0] },
    ] })).status).toBe(200);
    expect((await t.call('DELETE', '/v1/tables/docs/rows', { keys: ['a'] })).status).toBe(200);

    const kafka = new Kafka({ brokers: [t.bootstrap], clientId: 'tbl-test', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'changelog-reader' });
    const seen: Array<{ offset: string; key: string | null; value: string | null }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: topics.changelog, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          seen.push({ offset: message.offset, key: message.key?.toString() ?? null, value: message.value === null ? null : message.value.toString() });
        },
      });
      await eventually(async () => seen.length >= 3, 'changelog snapshot');
      expect(seen.map((s) => s.key)).toEqual(['a', 'b', 'a']);
      expect(JSON.parse(seen[1]!.value!)).toEqual({ id: 'b', lang: 'de', vec: [0, 1, 0] });
      expect(seen[2]!.value).toBeNull();
      // Tail: a write made while the consumer runs reaches it.
      expect((await t.call('POST', '/v1/tables/docs/rows', { rows: [{ id: 'c', lang: 'en', vec: [0, 0, 1] }] })).status).toBe(200);
      await eventually(async () => seen.length >= 4, 'changelog tail');
      expect(seen[3]!.key).toBe('c');
      expect(seen.map((s) => Number(s.offset))).toEqual([0, 1, 2, 3]);
    } finally {
      await consumer.disconnect();
    }
  });
});

const hasKcat = requireTool('kcat', kcatAvailable);

describe.skipIf(!hasKcat)('input and query topics from kcat', () => {
  it('applies rows produced to the input topic, reports bad ones, and commits offsets', async () => {
    const topics = tableTopics('docs');
    const lines = [
      'k1|{"id":"k1","lang":"fr","vec":[0.5,0.5,0]}',
      'k2|{"id":"k2","vec":[1,2]}', // wrong dimension
      'k3|not json',
      'k4|{"lang":"it","vec":[0,0.5,0.5]}', // primary key taken from the record key
    ];
    await kcat(['-P', '-b', t.bootstrap, '-t', topics.input, '-K', '|'], { input: lines.join('\n') + '\n' });
    await eventually(async () => (await t.call('GET', '/v1/tables/docs/rows/k4')).status === 200, 'input rows applied');
    await t.node.tables.caughtUp('docs');
    expect((await t.call('GET', '/v1/tables/docs/rows/k1')).body.row).toEqual({ id: 'k1', lang: 'fr' });
    expect((await t.call('GET', '/v1/tables/docs/rows/k4')).body.row).toEqual({ id: 'k4', lang: 'it' });
    expect((await t.call('GET', '/v1/tables/docs/rows/k2')).status).toBe(404);

    // A tombstone (empty value with -Z) deletes by key.
    await kcat(['-P', '-b', t.bootstrap, '-t', topics.input, '-K', '|', '-Z'], { input: 'k1|\n' });
    await eventually(async () => (await t.call('GET', '/v1/tables/docs/rows/k1')).status === 404, 'tombstone applied');

    const errs = await kcat(['-C', '-b', t.bootstrap, '-t', topics.errors, '-o', 'beginning', '-e', '-q', '-f', '%k\t%h\n']);
    const errLines = errs.stdout.trim().split('\n');
    expect(errLines).toHaveLength(2);
    expect(errLines[0]).toMatch(/^k2\t.*error=.*dimension/);
    expect(errLines[0]).toContain(`source-topic=${topics.input}`);
    expect(errLines[1]).toMatch(/^k3\t.*error=value is not JSON/);

    const committed = t.node.broker.groups.fetchOffsets(tableGroups('docs').input, [{ name: topics.input, partitions: [0] }]);
    expect(committed.topics[0]!.partitions[0]!.committedOffset).toBe(5);
  });

  it('answers a query record on the reply topic with the same correlation id', async () => {
    const topics = tableTopics('docs');
    await kcat(['-P', '-b', t.bootstrap, '-t', topics.query, '-H', 'reply-topic=docs-replies', '-H', 'correlation-id=q-42'], {
      input: '{"vector":[0,1,0],"k":2}\n',
    });
    await kcat(['-P', '-b', t.bootstrap, '-t', topics.query, '-H', 'reply-topic=docs-replies', '-H', 'correlation-id=q-43'], {
      input: '{"vector":[0,1],"k":2}\n',
    });
    await eventually(async () => (t.node.tables.bridgeStats('docs')?.answered ?? 0) + (t.node.tables.bridgeStats('docs')?.failedQueries ?? 0) >= 2, 'queries answered');
    await t.node.tables.caughtUp('docs');
    const r = await kcat(['-C', '-b', t.bootstrap, '-t', 'docs-replies', '-o', 'beginning', '-e', '-q', '-f', '%h\t%s\n']);
    const replies = r.stdout.trim().split('\n').map((l) => {
      const [h, v] = l.split('\t');
      return { headers: h!, value: JSON.parse(v!) as { correlation_id: string; hits?: Array<{ key: string; distance: number }>; error?: { code: string } } };
    });
    expect(replies).toHaveLength(2);
    expect(replies[0]!.headers).toContain('correlation-id=q-42');
    expect(replies[0]!.value.correlation_id).toBe('q-42');
    // b = [0,1,0] exactly; next nearest by squared L2 is k4 = [0,.5,.5] (0.5) before c = [0,0,1] (2).
    expect(replies[0]!.value.hits!.map((h) => h.key)).toEqual(['b', 'k4']);
    expect(replies[0]!.value.hits![0]!.distance).toBe(0);
    expect(replies[1]!.headers).toContain('correlation-id=q-43');
    expect(replies[1]!.value.error!.code).toBe('INVALID_QUERY');
  });
});
