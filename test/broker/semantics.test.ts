// Broker behaviours from the broker-core issue that the per-client suites don't pin down:
// 8 MiB records, MESSAGE_TOO_LARGE, LogAppendTime, auto-creation on/off, Fetch long-polls and
// limits, and produce v0-2 refusal. Real broker process, kafkajs and Floe's own wire client.
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { openNode, type NodeConnection } from '../../broker/client/kafka-client.js';
import { Fetch, Produce } from '../../broker/client/apis.js';
import { encodeBatch, decodeBatches } from '../../broker/protocol/records/records.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';

const { Kafka, logLevel } = kafkajs;

/** Fetch v12 addresses topics by name (v13+ by id). */
function fetchByName(node: NodeConnection, body: Parameters<typeof Fetch.write>[2], timeoutMs = 30_000) {
  return node.conn.send(1, 12, (w) => Fetch.write(w, 12, body), Fetch.read, { timeoutMs });
}
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

describe('broker semantics (auto-create on, 3 partitions by default)', () => {
  let broker: BrokerHandle;
  let kafka: InstanceType<typeof Kafka>;
  let node: NodeConnection;

  beforeAll(async () => {
    broker = await startBroker({ args: ['--num-partitions', '3', '--auto-create-topics', 'true'] });
    kafka = new Kafka({ clientId: 'semantics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    node = await openNode('127.0.0.1', broker.kafkaPort);
  });
  afterAll(async () => {
    node?.conn.close();
    await broker?.stop();
  });

  it('accepts an 8 MiB record up to max.message.bytes and refuses a larger one with MESSAGE_TOO_LARGE', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'big', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(9 * 1024 * 1024) }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 4096) value.writeUInt32BE(i, i);
    const [meta] = await producer.send({ topic: 'big', acks: -1, messages: [{ key: 'k', value }] });
    expect(meta!.errorCode).toBe(0);
    await expect(producer.send({ topic: 'big', acks: -1, messages: [{ value: Buffer.alloc(10 * 1024 * 1024) }] })).rejects.toThrow(/message larger than the max message size/i);
    await producer.disconnect();

    const res = await fetchByName(node, { maxWaitMs: 100, minBytes: 1, maxBytes: 1024, isolationLevel: 0, topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024, currentLeaderEpoch: -1, logStartOffset: -1, lastFetchedEpoch: -1 }] }] });
    const part = res.responses[0]!.partitions[0]!;
    expect(part.errorCode).toBe(0);
    // The first batch is returned whole even though it exceeds maxBytes (Kafka's KIP-74 rule).
    const [batch] = await decodeBatches(part.records!);
    expect(batch!.records[0]!.value!.equals(value)).toBe(true);
    expect(part.highWatermark).toBe(1);
  });

  it('stamps LogAppendTime on topics that ask for it', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'lat', numPartitions: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
    await admin.disconnect();
    const before = Date.now();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'lat', acks: -1, messages: [{ value: 'x', timestamp: '1000' }, { value: 'y', timestamp: '2000' }] });
    await producer.disconnect();
    const res = await fetchByName(node, { maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: 'lat', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }] });
    const batches = await decodeBatches(res.responses[0]!.partitions[0]!.records!);
    expect(batches[0]!.timestampType).toBe('LogAppendTime');
    expect(batches[0]!.header.maxTimestamp).toBeGreaterThanOrEqual(before);
  });

  it('auto-creates topics with the broker default partition count', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'auto-made', acks: -1, messages: [{ key: 'a', value: '1' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: ['auto-made'] });
    await admin.disconnect();
    expect(md.topics[0]!.partitions).toHaveLength(3);
  });

  it('holds a Fetch until a produce arrives, and returns empty when maxWait passes', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'poll', numPartitions: 1 }] });
    await admin.disconnect();
    const fetchReq = (maxWaitMs: number) =>
      fetchByName(node, { maxWaitMs, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: 'poll', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }] });

    const empty = await fetchReq(50);
    expect(empty.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0);

    let answered = false;
    const pending = fetchReq(20_000).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    const batch = await encodeBatch({ records: [{ key: 'k', value: 'woken' }] });
    const pr = await node.send(Produce, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'poll', partitionData: [{ index: 0, records: batch }] }] });
    expect(pr.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    const res = await pending;
    const [b] = await decodeBatches(res.responses[0]!.partitions[0]!.records!);
    expect(b!.records[0]!.value!.toString()).toBe('woken');
  });

  it('respects per-partition limits: a second partition gets nothing once maxBytes is used', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'limits', numPartitions: 2 }] });
    await admin.disconnect();
    for (const p of [0, 1]) {
      for (let i = 0; i < 5; i++) {
        const records = await encodeBatch({ records: [{ value: Buffer.alloc(1000, 65 + i) }] });
        await node.send(Produce, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'limits', partitionData: [{ index: p, records }] }] });
      }
    }
    const parts = (limit: number, total: number) =>
      fetchByName(node, { maxWaitMs: 0, minBytes: 1, maxBytes: total, topics: [{ topic: 'limits', partitions: [0, 1].map((p) => ({ partition: p, fetchOffset: 0, partitionMaxBytes: limit, currentLeaderEpoch: -1 })) }] });
    const perPartition = await parts(2500, 1 << 20);
    for (const p of perPartition.responses[0]!.partitions) {
      const n = (await decodeBatches(p.records!)).length;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(2);
    }
    const capped = await parts(1 << 20, 3000);
    const sizes = capped.responses[0]!.partitions.map((p) => p.records?.length ?? 0);
    expect(sizes[0]).toBeGreaterThan(0);
    expect(sizes[0]! + sizes[1]!).toBeLessThanOrEqual(3000);
  });

  it('refuses produce v0-v2 (old message formats) per partition with UNSUPPORTED_VERSION', async () => {
    const records = await encodeBatch({ records: [{ value: 'old' }] });
    const res = await node.conn.send(0, 2, (w) => Produce.write(w, 2, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'poll', partitionData: [{ index: 0, records }] }] }), Produce.read);
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });
});

describe('auto-create off', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker({ args: ['--auto-create-topics', 'false'] });
  });
  afterAll(async () => broker?.stop());

  it('answers UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const node = await openNode('127.0.0.1', broker.kafkaPort);
    try {
      const records = await encodeBatch({ records: [{ value: 'x' }] });
      const res = await node.send(Produce, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'nope', partitionData: [{ index: 0, records }] }] });
      expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      expect(await admin.listTopics()).not.toContain('nope');
      await admin.disconnect();
    } finally {
      node.conn.close();
    }
  });
});
