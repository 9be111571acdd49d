import { afterEach, describe, expect, it } from 'vitest';
import { writeApiVersionsResponse } from '../../broker/protocol/generated/api-versions.js';
import { writeInitProducerIdResponse } from '../../broker/protocol/generated/init-producer-id.js';
import { readMetadataRequest, writeMetadataResponse } from '../../broker/protocol/generated/metadata.js';
import { readProduceRequest, writeProduceResponse } from '../../broker/protocol/generated/produce.js';
import { Compression } from '../../broker/protocol/records/batch-header.js';
import { decodeBatchesSync } from '../../broker/protocol/records/records.js';
import { KafkaError } from '../../broker/client/errors.js';
import { KafkaClient } from '../../broker/client/kafka-client.js';
import { Producer } from '../../broker/client/producer.js';
import { startFakeBroker, type FakeBroker, type FakeHandler } from './fake-broker.js';

interface SeenBatch {
  partition: number;
  acks: number;
  producerId: number;
  baseSequence: number;
  values: string[];
}

let fake: FakeBroker | null = null;
let client: KafkaClient | null = null;

afterEach(async () => {
  await client?.close();
  await fake?.close();
  client = fake = null;
});

/** A one-node fake with a 2-partition topic "t"; `answer` decides each partition's error code. */
async function setup(answer: (seen: SeenBatch, attempt: number) => number): Promise<SeenBatch[]> {
  const seen: SeenBatch[] = [];
  const nextOffset = new Map<number, number>();
  let port = 0;
  const handlers: Record<number, FakeHandler> = {
    18: (req, w) =>
      writeApiVersionsResponse(w, Math.min(req.header.apiVersion, 3), {
        apiKeys: [
          { apiKey: 0, minVersion: 3, maxVersion: 9 },
          { apiKey: 3, minVersion: 1, maxVersion: 12 },
          { apiKey: 18, minVersion: 0, maxVersion: 3 },
          { apiKey: 22, minVersion: 0, maxVersion: 4 },
        ],
      }),
    3: (req, w) => {
      readMetadataRequest(req.body, req.header.apiVersion);
      writeMetadataResponse(w, req.header.apiVersion, {
        brokers: [{ nodeId: 7, host: '127.0.0.1', port }],
        controllerId: 7,
        topics: [{ name: 't', partitions: [0, 1].map((p) => ({ partitionIndex: p, leaderId: 7, replicaNodes: [7], isrNodes: [7] })) }],
      });
    },
    22: (req, w) => writeInitProducerIdResponse(w, req.header.apiVersion, { producerId: 4242, producerEpoch: 3 }),
    0: (req, w) => {
      const r = readProduceRequest(req.body, req.header.apiVersion);
      const responses = r.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((pd) => {
          const [batch] = decodeBatchesSync(pd.records!);
          const s: SeenBatch = {
            partition: pd.index,
            acks: r.acks,
            producerId: batch!.header.producerId,
            baseSequence: batch!.header.baseSequence,
            values: batch!.records.map((x) => x.value!.toString()),
          };
          seen.push(s);
          const errorCode = answer(s, seen.filter((x) => x.partition === s.partition && x.baseSequence === s.baseSequence).length);
          const base = nextOffset.get(pd.index) ?? 0;
          if (errorCode === 0) nextOffset.set(pd.index, base + s.values.length);
          return { index: pd.index, errorCode, baseOffset: errorCode === 0 ? base : -1 };
        }),
      }));
      writeProduceResponse(w, req.header.apiVersion, { responses });
    },
  };
  fake = await startFakeBroker(handlers);
  port = fake.port;
  client = await KafkaClient.connect(`127.0.0.1:${fake.port}`);
  return seen;
}

describe('Producer', () => {
  it('is idempotent by default and numbers batches per partition', async () => {
    const seen = await setup(() => 0);
    const producer = await Producer.create(client!, { topic: 't', acks: -1, compression: Compression.Gzip, idempotent: true, batchRecords: 2 });
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => producer.send({ value: Buffer.from(v), partition: 1 })));
    await producer.flush();
    expect(results).toEqual([0, 1, 2, 3, 4].map((offset) => ({ partition: 1, offset })));
    expect(seen.map((s) => [s.producerId, s.baseSequence, s.values.join('')])).toEqual([
      [4242, 0, 'ab'],
      [4242, 2, 'cd'],
      [4242, 4, 'e'],
    ]);
  });

  it('retries a retriable error with the same sequence number', async () => {
    const seen = await setup((s, attempt) => (s.baseSequence === 0 && attempt === 1 ? 6 : 0)); // NOT_LEADER_OR_FOLLOWER once
    const producer = await Producer.create(client!, { topic: 't', acks: -1, compression: Compression.None, idempotent: true });
    const r = await producer.send({ value: Buffer.from('x'), partition: 0 });
    await producer.flush();
    expect(r).toEqual({ partition: 0, offset: 0 });
    expect(seen.map((s) => [s.baseSequence, s.values])).toEqual([
      [0, ['x']],
      [0, ['x']],
    ]);
  });

  it('fails with the Kafka error name on a non-retriable error', async () => {
    await setup(() => 10); // MESSAGE_TOO_LARGE
    const producer = await Producer.create(client!, { topic: 't', acks: 1, compression: Compression.None, idempotent: true });
    const err = await producer.send({ value: Buffer.from('big'), partition: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as Error).message).toMatch(/^produce t\/0: MESSAGE_TOO_LARGE: /);
    await expect(producer.flush()).rejects.toThrow(/MESSAGE_TOO_LARGE/);
  });

  it('does not use idempotence with acks=1 and sends keys to their hash partition', async () => {
    const seen = await setup(() => 0);
    const producer = await Producer.create(client!, { topic: 't', acks: 1, compression: Compression.None, idempotent: true });
    expect(producer.idempotent).toBe(false);
    // murmur2("foobar") & 0x7fffffff = 1357151166 -> partition 0 of 2
    const r = await producer.send({ key: Buffer.from('foobar'), value: Buffer.from('v') });
    await producer.flush();
    expect(r.partition).toBe(1357151166 % 2);
    expect(seen[0]).toMatchObject({ acks: 1, producerId: -1, baseSequence: -1 });
  });

  it('rejects a partition the topic does not have', async () => {
    await setup(() => 0);
    const producer = await Producer.create(client!, { topic: 't', acks: -1, compression: Compression.None, idempotent: false });
    expect(() => producer.send({ value: null, partition: 5 })).toThrow('partition 5 does not exist: topic "t" has 2 partition(s)');
  });
});
