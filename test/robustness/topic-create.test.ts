// Topic creation is all or nothing: an injected failure halfway, a kill -9 halfway, and the
// broker-wide partition limit. After each the broker restarts and acknowledged data is readable.
// (Two 10,000-partition creations take minutes on a shared 2-core machine, so the limit is shown
// with a small floe.max.partitions and atomicity with a failure injected at one partition.)
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { CreatePartitions, CreateTopics, Metadata } from '../../broker/client/apis.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { connect, CREATE_TOPICS_VERSION, fetchAll, request, sleep } from './wire.js';

const { Kafka, logLevel } = kafkajs;
const brokers: BrokerHandle[] = [];
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
});

async function create(broker: BrokerHandle, name: string, numPartitions: number) {
  const conn = await connect(broker.kafkaPort);
  try {
    const res = await request(conn, CreateTopics, CREATE_TOPICS_VERSION, { topics: [{ name, numPartitions, replicationFactor: 1 }], timeoutMs: 60_000 }, 120_000);
    return res.topics[0]!;
  } finally {
    conn.close();
  }
}

async function partitionsOf(broker: BrokerHandle, name: string): Promise<number | null> {
  const conn = await connect(broker.kafkaPort);
  try {
    const res = await request(conn, Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const t = res.topics[0]!;
    return t.errorCode === ErrorCode.NONE ? t.partitions.length : null;
  } finally {
    conn.close();
  }
}

async function produceAcked(broker: BrokerHandle, topic: string, n: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'atomic', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: `m${i}` })) });
  } finally {
    await producer.disconnect();
  }
}

async function recordCount(broker: BrokerHandle, topic: string): Promise<number> {
  const conn = await connect(broker.kafkaPort);
  try {
    const { batches } = await fetchAll(conn, topic, 0);
    return batches.reduce((n, b) => n + b.header.lastOffsetDelta + 1, 0);
  } finally {
    conn.close();
  }
}

const partitionDirs = (broker: BrokerHandle, topic: string): string[] => {
  const dir = path.join(broker.dataDir, 'topics', topic);
  return existsSync(dir) ? readdirSync(dir).filter((d) => /^\d+$/.test(d)) : [];
};

describe('atomic topic creation', () => {
  it('rolls back a creation that fails at one partition, and the broker still restarts', async () => {
    const broker = await startBroker({ keepDataDir: false });
    brokers.push(broker);
    await expect(create(broker, 'kept', 1)).resolves.toMatchObject({ errorCode: 0 });
    await produceAcked(broker, 'kept', 10);
    // A file where partition 5's directory must go: opening that partition fails.
    mkdirSync(path.join(broker.dataDir, 'topics', 'half'), { recursive: true });
    writeFileSync(path.join(broker.dataDir, 'topics', 'half', '5'), 'in the way');
    const r = await create(broker, 'half', 12);
    expect(r.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(r.errorMessage).not.toContain(broker.dataDir);
    expect(await partitionsOf(broker, 'half')).toBeNull();
    expect(partitionDirs(broker, 'half')).toEqual([]);

    await broker.restart();
    expect(await partitionsOf(broker, 'half')).toBeNull();
    expect(await recordCount(broker, 'kept')).toBe(10);
    await expect(create(broker, 'half', 12)).resolves.toMatchObject({ errorCode: 0 });
    expect(await partitionsOf(broker, 'half')).toBe(12);
  }, 120_000);

  it('after a kill -9 during creation, the topic is complete or absent and the broker starts', async () => {
    const broker = await startBroker();
    brokers.push(broker);
    await create(broker, 'kept', 1);
    await produceAcked(broker, 'kept', 5);
    const PARTS = 1500;
    const pending = create(broker, 'big', PARTS).catch(() => null);
    for (let i = 0; i < 600 && partitionDirs(broker, 'big').length < 50; i++) await sleep(10);
    await broker.kill();
    await pending;
    await broker.restart();
    const n = await partitionsOf(broker, 'big');
    if (n === null) expect(partitionDirs(broker, 'big')).toEqual([]);
    else {
      expect(n).toBe(PARTS);
      expect(partitionDirs(broker, 'big').length).toBe(PARTS);
    }
    expect(await recordCount(broker, 'kept')).toBe(5);
    // Either way the name is usable again.
    if (n === null) await expect(create(broker, 'big', 4)).resolves.toMatchObject({ errorCode: 0 });
  }, 180_000);

  it('removes the leftovers of an uncommitted creation at startup', async () => {
    const broker = await startBroker();
    brokers.push(broker);
    await broker.kill();
    const dir = path.join(broker.dataDir, 'topics', 'orphan', '0');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '00000000000000000000-e0.log'), '');
    await broker.restart();
    for (let i = 0; i < 100 && partitionDirs(broker, 'orphan').length > 0; i++) await sleep(50);
    expect(partitionDirs(broker, 'orphan')).toEqual([]);
    await expect(create(broker, 'orphan', 2)).resolves.toMatchObject({ errorCode: 0 });
  }, 60_000);
});

describe('floe.max.partitions', () => {
  it('refuses creations and additions beyond the broker-wide limit with POLICY_VIOLATION', async () => {
    const broker = await startBroker({ args: ['--max-partitions', '50'] });
    brokers.push(broker);
    await expect(create(broker, 'first', 30)).resolves.toMatchObject({ errorCode: 0 });
    const over = await create(broker, 'second', 30);
    expect(over.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(over.errorMessage).toContain('floe.max.partitions=50');
    expect(await partitionsOf(broker, 'second')).toBeNull();
    const conn = await connect(broker.kafkaPort);
    try {
      const res = await request(conn, CreatePartitions, 3, { topics: [{ name: 'first', count: 60, assignments: null }], timeoutMs: 10_000, validateOnly: false });
      expect(res.results[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    } finally {
      conn.close();
    }
    await expect(create(broker, 'second', 20)).resolves.toMatchObject({ errorCode: 0 });
    await broker.restart();
    expect(await partitionsOf(broker, 'first')).toBe(30);
    expect(await partitionsOf(broker, 'second')).toBe(20);
  }, 60_000);
});
