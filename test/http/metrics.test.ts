// /metrics parsed as Prometheus text; counters move with HTTP and Kafka traffic.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parsePrometheus, startTestNode, type TestNode } from './helpers.js';

let n: TestNode;
beforeAll(async () => {
  n = await startTestNode();
});
afterAll(async () => {
  await n?.close();
});

async function scrape(): Promise<Map<string, number>> {
  const r = await n.call('GET', '/metrics');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(r.text);
}

test('metrics move with traffic', async () => {
  await n.call('POST', '/v1/topics', { name: 'met-a', partitions: 2 });
  const before = await scrape();
  await n.call('POST', '/v1/topics/met-a/records', { records: [{ value: 'a', partition: 1 }, { value: 'b', partition: 1 }, { value: 'c', partition: 1 }] });
  await n.call('GET', '/v1/topics/met-a/partitions/1/records');
  const kafka = new Kafka({ brokers: [n.bootstrap], clientId: 'met', logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'met-a', messages: [{ value: 'k', partition: 0 }] });
  const consumer = kafka.consumer({ groupId: 'met-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'met-a', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async () => { if (++seen === 4) resolve(); } });
  });
  await consumer.disconnect();
  const during = await scrape();
  await producer.disconnect();
  await n.call('POST', '/v1/groups/met-g/offsets/reset', { topic: 'met-a', to: 'earliest' });
  const after = await scrape();

  const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
  expect(get(after, 'floe_topic_records_in_total{partition=1,topic=met-a}') - get(before, 'floe_topic_records_in_total{partition=1,topic=met-a}')).toBe(3);
  expect(get(after, 'floe_topic_records_in_total{partition=0,topic=met-a}')).toBe(1);
  expect(get(after, 'floe_topic_bytes_in_total{partition=1,topic=met-a}')).toBeGreaterThan(0);
  expect(get(after, 'floe_topic_bytes_out_total{partition=1,topic=met-a}')).toBeGreaterThan(0);
  expect(get(after, 'floe_topic_records_out_total{partition=1,topic=met-a}')).toBeGreaterThanOrEqual(3);
  expect(get(after, 'floe_http_records_out_total{partition=1,topic=met-a}')).toBe(3);
  expect(get(after, 'floe_partition_high_watermark{partition=1,topic=met-a}')).toBe(3);
  expect(get(after, 'floe_partition_log_segments{partition=1,topic=met-a}')).toBe(1);
  expect(get(after, 'floe_partition_log_size_bytes{partition=1,topic=met-a}')).toBeGreaterThan(0);
  expect(get(after, 'floe_consumer_group_lag{group=met-g,partition=1,topic=met-a}')).toBe(3);
  expect(get(after, 'floe_consumer_group_lag{group=met-g,partition=0,topic=met-a}')).toBe(1);
  expect(get(after, 'floe_log_fsyncs_total{}')).toBeGreaterThan(get(before, 'floe_log_fsyncs_total{}'));
  expect(get(during, 'floe_kafka_connections{}')).toBeGreaterThan(0);
  expect(get(after, 'floe_http_connections{}')).toBeGreaterThan(0);
  const produceRoute = 'floe_http_request_duration_seconds_count{method=POST,route=/v1/topics/:topic/records,status_code=200}';
  expect(get(after, produceRoute) - get(before, produceRoute)).toBe(1);
  const kafkaProduce = [...after.keys()].find((k) => k.startsWith('floe_kafka_request_duration_seconds_count{api=Produce'));
  expect(kafkaProduce).toBeDefined();
  // Default process metrics (event loop lag, memory).
  expect([...after.keys()].some((k) => k.startsWith('floe_nodejs_eventloop_lag_seconds'))).toBe(true);
  expect(get(after, 'floe_process_resident_memory_bytes{}')).toBeGreaterThan(0);
});

test('table and function figures appear, fsync latency is observed', async () => {
  const created = await n.call('POST', '/v1/tables', { name: 'met_t', primaryKey: 'id', columns: [{ name: 'id', type: 'string' }], vectors: [{ name: 'v', dim: 2, metric: 'l2' }] });
  expect(created.status).toBeLessThan(300);
  const up = await n.call('POST', '/v1/tables/met_t/rows', { rows: [{ id: 'a', v: [0, 1] }, { id: 'b', v: [1, 0] }] });
  expect(up.status).toBeLessThan(300);
  const m = await scrape();
  expect(m.get('floe_table_rows{table=met_t}')).toBe(2);
  expect(m.get('floe_table_unindexed_rows{table=met_t}')).toBe(2);
  expect(m.get('floe_log_fsync_duration_seconds_count{}') ?? 0).toBeGreaterThan(0);
});

test('the parser rejects what is not the exposition format', () => {
  expect(() => parsePrometheus('not a metric line at all')).toThrow();
  expect(parsePrometheus('# HELP x y\nx{a="1",b="q\\"z"} 2.5\n').get('x{a=1,b=q\\"z}')).toBe(2.5);
});
