// Names and log lines an anonymous client controls: reserved topic names, huge names, and the
// generated HTTP token, which must never reach the log.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { CreateTopics, Metadata } from '../../broker/client/apis.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { connect, CREATE_TOPICS_VERSION, request } from './wire.js';

const { Kafka, logLevel } = kafkajs;

let broker: BrokerHandle;
beforeAll(async () => {
  broker = await startBroker();
}, 60_000);
afterAll(async () => {
  await broker?.stop();
});

async function createRaw(name: string) {
  const conn = await connect(broker.kafkaPort);
  try {
    const res = await request(conn, CreateTopics, CREATE_TOPICS_VERSION, { topics: [{ name, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 }, 30_000);
    return res.topics[0]!;
  } finally {
    conn.close();
  }
}

describe('reserved topic names', () => {
  it('refuses CreateTopics of __consumer_offsets, other __ names and _floe. names', async () => {
    const kafka = new Kafka({ clientId: 'names', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expect(admin.createTopics({ topics: [{ topic: '__consumer_offsets', numPartitions: 1 }] })).rejects.toThrow();
      for (const name of ['__consumer_offsets', '__transaction_state', '__mine', '_floe.table.x.changelog']) {
        const r = await createRaw(name);
        expect(r.errorCode, name).toBe(ErrorCode.INVALID_REQUEST);
        expect(r.errorMessage).toMatch(/Creation of internal topic .* is prohibited/);
      }
      expect(await admin.listTopics()).not.toContain('__consumer_offsets');
    } finally {
      await admin.disconnect();
    }
  });

  it('does not auto-create reserved names from Metadata', async () => {
    const conn = await connect(broker.kafkaPort);
    try {
      const res = await request(conn, Metadata, 9, { topics: [{ name: '__auto' }, { name: '_floe.auto' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      expect(res.topics.map((t) => t.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    } finally {
      conn.close();
    }
  });

  it('answers a 10 MB topic name with a short error', async () => {
    const r = await createRaw('x'.repeat(10 * 1024 * 1024));
    expect(r.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(r.errorMessage!.length).toBeLessThan(300);
    expect(broker.logs().length).toBeLessThan(100_000);
  }, 60_000);
});

describe('HTTP token', () => {
  it('logs where the generated token is, never the token', () => {
    const file = path.join(broker.dataDir, 'api-token');
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^floe_/);
    expect(broker.logs()).not.toContain(token);
    expect(broker.logs()).toContain(file);
  });
});
