import kafkajs from 'kafkajs';
import type { Admin, IHeaders, Kafka as KafkaClient, KafkaMessage, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';

// kafkajs 2.2.4 against Floe. Only the codecs kafkajs ships (none, gzip) are exercised here:
// snappy, lz4 and zstd need third-party codec plugins and are covered by kcat, Java and Python.
const { Kafka, CompressionTypes, ConfigResourceTypes, ConfigSource, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const CODECS = [
  ['none', CompressionTypes.None],
  ['gzip', CompressionTypes.GZIP],
] as const;

interface Seen {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp: string;
  headers: Record<string, string | string[]>;
}

function headersToStrings(h: IHeaders | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (Array.isArray(v)) out[k] = v.map((x) => x.toString('latin1'));
    else if (v !== undefined) out[k] = v.toString('latin1');
  }
  return out;
}

function seen(partition: number, m: KafkaMessage): Seen {
  return {
    partition,
    offset: m.offset,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value === null ? null : m.value.toString('utf8'),
    timestamp: m.timestamp,
    headers: headersToStrings(m.headers),
  };
}

async function consumeViaGroup(kafka: KafkaClient, topic: string, groupId: string, count: number): Promise<Seen[]> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const got: Seen[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: consumed ${got.length} of ${count}`)), 45_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            got.push(seen(partition, message));
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

describe('kafkajs 2.2.4 against Floe', () => {
  let broker: BrokerHandle;
  let kafka: KafkaClient;

  beforeAll(async () => {
    broker = await startBroker({ args: ['--auto-create-topics', 'true', '--num-partitions', '1'] });
    kafka = new Kafka({
      clientId: 'floe-kafkajs-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.ERROR,
      retry: { retries: 5, initialRetryTime: 100 },
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  for (const [name, codec] of CODECS) {
    it(`idempotent produce with ${name} compression, group consume from the beginning`, async () => {
      const topic = `kafkajs-${name}`;
      const base = Date.now() - 60_000;
      const big = `${name}-payload-`.repeat(300);
      const messages: Message[] = [
        { key: 'k0', value: 'v0', headers: { h: 'x' } },
        { key: null, value: 'no-key' },
        { key: 'k2', value: null }, // tombstone
        { key: 'k3', value: big, headers: { dup: ['a', 'b'], bin: Buffer.from([0, 1, 2, 255]) } },
        { key: 'k4', value: '' },
      ].map((m, i) => ({ ...m, partition: 0, timestamp: String(base + i) }));

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        const first = await producer.send({ topic, acks: -1, compression: codec, messages: messages.slice(0, 3) });
        const second = await producer.send({ topic, acks: -1, compression: codec, messages: messages.slice(3) });
        expect(first.map((r) => [r.partition, r.errorCode, r.baseOffset])).toEqual([[0, 0, '0']]);
        expect(second.map((r) => [r.partition, r.errorCode, r.baseOffset])).toEqual([[0, 0, '3']]);
      } finally {
        await producer.disconnect();
      }

      const got = await consumeViaGroup(kafka, topic, `kafkajs-group-${name}`, messages.length);
      expect(got).toEqual([
        { partition: 0, offset: '0', key: 'k0', value: 'v0', timestamp: String(base), headers: { h: 'x' } },
        { partition: 0, offset: '1', key: null, value: 'no-key', timestamp: String(base + 1), headers: {} },
        { partition: 0, offset: '2', key: 'k2', value: null, timestamp: String(base + 2), headers: {} },
        {
          partition: 0,
          offset: '3',
          key: 'k3',
          value: big,
          timestamp: String(base + 3),
          headers: { dup: ['a', 'b'], bin: Buffer.from([0, 1, 2, 255]).toString('latin1') },
        },
        { partition: 0, offset: '4', key: 'k4', value: '', timestamp: String(base + 4), headers: {} },
      ]);
    });
  }

  it('admin: topics, configs, partitions, offsets, delete records, cluster', async () => {
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      const topic = `kafkajs-admin-${Date.now().toString(36)}`;
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      });
      expect(created).toBe(true);
      expect(await admin.listTopics()).toContain(topic);

      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(md.topics).toHaveLength(1);
      const parts = md.topics[0]!.partitions.slice().sort((a, b) => a.partitionId - b.partitionId);
      expect(parts.map((p) => p.partitionId)).toEqual([0, 1]);
      for (const p of parts) {
        expect(p.partitionErrorCode).toBe(0);
        expect(p.leader).toBeGreaterThanOrEqual(0);
        expect(p.replicas).toContain(p.leader);
        expect(p.isr).toContain(p.leader);
      }

      const describeRetention = async () => {
        const res = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
        });
        expect(res.resources).toHaveLength(1);
        expect(res.resources[0]!.errorCode).toBe(0);
        const entry = res.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms');
        expect(entry).toBeDefined();
        return entry!;
      };
      const before = await describeRetention();
      expect(before.configValue).toBe('3600000');
      expect(before.configSource).toBe(ConfigSource.TOPIC_CONFIG);
      expect(before.isDefault).toBe(false);

      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toHaveLength(1);
      expect(cluster.brokers[0]).toMatchObject({ host: '127.0.0.1', port: broker.kafkaPort });
      expect(cluster.clusterId).toBeTruthy();
      expect(cluster.brokers.map((b) => b.nodeId)).toContain(cluster.controller);

      const brokerConfigs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: String(cluster.brokers[0]!.nodeId) }],
      });
      expect(brokerConfigs.resources[0]!.errorCode).toBe(0);
      expect(brokerConfigs.resources[0]!.configEntries.length).toBeGreaterThan(0);

      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
      });
      expect((await describeRetention()).configValue).toBe('7200000');

      await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      const md3 = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(md3.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);

      const base = Date.now() - 600_000;
      const producer = kafka.producer();
      await producer.connect();
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}`, timestamp: String(base + i * 10) })),
        });
      } finally {
        await producer.disconnect();
      }

      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      expect(offsets).toEqual([
        { partition: 0, offset: '10', high: '10', low: '0' },
        { partition: 1, offset: '0', high: '0', low: '0' },
        { partition: 2, offset: '0', high: '0', low: '0' },
      ]);

      const byTs = (await admin.fetchTopicOffsetsByTimestamp(topic, base + 45)).sort((a, b) => a.partition - b.partition);
      // kafkajs maps "no record at or after ts" (-1) to the high watermark.
      expect(byTs).toEqual([
        { partition: 0, offset: '5' },
        { partition: 1, offset: '0' },
        { partition: 2, offset: '0' },
      ]);
      const future = await admin.fetchTopicOffsetsByTimestamp(topic, base + 1_000_000);
      expect(future.find((o) => o.partition === 0)?.offset).toBe('10');

      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
      const afterDelete = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0);
      expect(afterDelete).toEqual({ partition: 0, offset: '10', high: '10', low: '4' });

      await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
      const deadline = Date.now() + 10_000;
      while ((await admin.listTopics()).includes(topic)) {
        if (Date.now() > deadline) throw new Error(`${topic} still listed 10 s after deleteTopics`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await admin.disconnect();
    }
  });
  it('admin: partition reassignments (a single node accepts only itself as the replica list)', async () => {
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      const topic = `kafkajs-reassign-${Date.now().toString(36)}`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
      expect(await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] })).toEqual({ topics: [] });
      await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [0] }] }] });
      await expect(admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [7] }] }] })).rejects.toThrow(/partition reassignments/);
    } finally {
      await admin.disconnect();
    }
  });
});
