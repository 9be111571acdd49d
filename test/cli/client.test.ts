import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeApiVersionsResponse } from '../../broker/protocol/generated/api-versions.js';
import { readMetadataRequest, writeMetadataResponse } from '../../broker/protocol/generated/metadata.js';
import { describeTopicConfigs } from '../../broker/client/admin.js';
import { Metadata } from '../../broker/client/apis.js';
import { ConnectionError, KafkaError, RequestTimeoutError, UnsupportedApiError } from '../../broker/client/errors.js';
import { KafkaClient, parseHostPort } from '../../broker/client/kafka-client.js';
import { negotiate } from '../../broker/client/versions.js';
import { startFakeBroker, type FakeBroker, type FakeHandler } from './fake-broker.js';

const BROKER_APIS = [
  { apiKey: 0, minVersion: 3, maxVersion: 7 },
  { apiKey: 3, minVersion: 0, maxVersion: 5 },
  { apiKey: 18, minVersion: 0, maxVersion: 3 },
];

/** Answers a too-new ApiVersions in v0 format with UNSUPPORTED_VERSION, like a real broker. */
const apiVersions: FakeHandler = (req, w) => {
  if (req.header.apiVersion > 3) writeApiVersionsResponse(w, 0, { errorCode: 35, apiKeys: BROKER_APIS });
  else writeApiVersionsResponse(w, req.header.apiVersion, { errorCode: 0, apiKeys: BROKER_APIS });
};

/** The fake's own port, so metadata points the client back at it. */
let advertisedPort = 0;

function metadataReply(clusterId: string): FakeHandler {
  return (req, w) => {
    readMetadataRequest(req.body, req.header.apiVersion);
    writeMetadataResponse(w, req.header.apiVersion, {
      brokers: [{ nodeId: 1, host: '127.0.0.1', port: advertisedPort }],
      clusterId,
      controllerId: 1,
      topics: [{ errorCode: 0, name: 't', partitions: [{ partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }] }],
    });
  };
}

let fake: FakeBroker | null = null;
let client: KafkaClient | null = null;

afterEach(async () => {
  await client?.close();
  await fake?.close();
  client = null;
  fake = null;
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('KafkaClient', () => {
  it('says clearly when the broker is unreachable', async () => {
    const port = await freePort();
    const err = await KafkaClient.connect(`127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('tries the next bootstrap address when one is down', async () => {
    fake = await startFakeBroker({ 18: apiVersions, 3: metadataReply('c1') });
    const dead = await freePort();
    client = await KafkaClient.connect(`127.0.0.1:${dead},127.0.0.1:${fake.port}`);
    expect(client.bootstrapAddress).toBe(`127.0.0.1:${fake.port}`);
  });

  it('negotiates the highest common version, retrying ApiVersions after UNSUPPORTED_VERSION', async () => {
    fake = await startFakeBroker({ 18: apiVersions, 3: metadataReply('c1') });
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
    expect(fake.received.map((h) => [h.apiKey, h.apiVersion])).toEqual([
      [18, 4],
      [18, 3],
    ]);
    expect(client.bootstrap.versions.get(3)).toBe(5);
    expect(client.bootstrap.versions.get(0)).toBe(7);
    const md = await client.metadata(['t']);
    expect(md.clusterId).toBe('c1');
    expect(md.topics.get('t')?.partitions[0]?.leaderId).toBe(1);
    expect(fake.received.at(-1)).toMatchObject({ apiKey: 3, apiVersion: 5, clientId: 'floe-cli' });
  });

  it('pipelines requests and matches responses by correlation id', async () => {
    const waiting: Array<() => void> = [];
    fake = await startFakeBroker({
      18: apiVersions,
      3: (req, w) => {
        // Hold every response until three requests are in, then answer in reverse order.
        const order = waiting.length;
        return new Promise<void>((resolve) => {
          waiting.push(() => {
            metadataReply(`cid-${req.header.correlationId}`)(req, w);
            resolve();
          });
          if (waiting.length === 3) for (let i = 2; i >= 0; i--) setTimeout(waiting[i]!, (2 - i) * 20);
          void order;
        });
      },
    });
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
    const node = client.bootstrap;
    const results = await Promise.all([0, 1, 2].map(() => node.send(Metadata, { topics: null })));
    const ids = fake.received.filter((h) => h.apiKey === 3).map((h) => h.correlationId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(results.map((r) => r.clusterId)).toEqual(ids.map((id) => `cid-${id}`));
  });

  it('times out a request without breaking the connection', async () => {
    let calls = 0;
    fake = await startFakeBroker({
      18: apiVersions,
      3: (req, w) => {
        calls++;
        if (calls === 1) return 'none';
        metadataReply('later')(req, w);
      },
    });
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`, { requestTimeoutMs: 200 });
    const err = await client.metadata(null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as Error).message).toMatch(/timed out after 200 ms/);
    expect((await client.metadata(null)).clusterId).toBe('later');
  });

  it('rejects in-flight requests when the broker drops the connection', async () => {
    fake = await startFakeBroker({ 18: apiVersions, 3: () => 'none' });
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
    const pending = client.metadata(null).catch((e: unknown) => e);
    while (!fake.received.some((h) => h.apiKey === 3)) await new Promise((r) => setTimeout(r, 5));
    await fake.close();
    const err = await pending;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/closed/);
  });

  it('names an API the broker does not serve', async () => {
    fake = await startFakeBroker({ 18: apiVersions, 3: metadataReply('c1') });
    advertisedPort = fake.port;
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
    const err = await describeTopicConfigs(client, 't').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedApiError);
    expect((err as Error).message).toMatch(/does not support DescribeConfigs/);
  });

  it('names unknown topics', async () => {
    fake = await startFakeBroker({
      18: apiVersions,
      3: (req, w) => {
        readMetadataRequest(req.body, req.header.apiVersion);
        writeMetadataResponse(w, req.header.apiVersion, { brokers: [], controllerId: -1, topics: [{ errorCode: 3, name: 'nope', partitions: [] }] });
      },
    });
    client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
    await expect(client.topic('nope')).rejects.toThrow('unknown topic "nope"');
  });
});

describe('version negotiation and helpers', () => {
  it('picks min(broker max, client max) and skips APIs with no overlap', () => {
    const client = { 0: { minVersion: 0, maxVersion: 11 }, 1: { minVersion: 0, maxVersion: 17 }, 3: { minVersion: 0, maxVersion: 12 } };
    const v = negotiate(
      [
        { apiKey: 0, minVersion: 0, maxVersion: 2 }, // below the client's Produce floor (v3)
        { apiKey: 1, minVersion: 4, maxVersion: 20 },
        { apiKey: 3, minVersion: 0, maxVersion: 9 },
        { apiKey: 99, minVersion: 0, maxVersion: 1 },
      ],
      client,
    );
    expect([...v]).toEqual([
      [1, 17],
      [3, 9],
    ]);
  });

  it('renders Kafka errors by name and message', () => {
    expect(new KafkaError(36, null).message).toBe('TOPIC_ALREADY_EXISTS: Topic with this name already exists.');
    expect(new KafkaError(3, 'custom', 'topic "x"').message).toBe('topic "x": UNKNOWN_TOPIC_OR_PARTITION: custom');
    expect(new KafkaError(-1, null).codeName).toBe('UNKNOWN_SERVER_ERROR');
  });

  it('parses broker addresses', () => {
    expect(parseHostPort('10.0.0.1:19092')).toEqual({ host: '10.0.0.1', port: 19092 });
    expect(parseHostPort('[::1]:9093')).toEqual({ host: '::1', port: 9093 });
    expect(parseHostPort('kafka')).toEqual({ host: 'kafka', port: 9092 });
    expect(() => parseHostPort('h:99999')).toThrow(/bad port/);
  });
});
