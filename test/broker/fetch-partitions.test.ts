// Fetch over several partitions in one request: the broker reads them concurrently, so these pin
// down that the response still follows one-by-one semantics: request order, partition_max_bytes,
// max_bytes as a soft limit with at least one whole batch from the first partition with data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { openNode, type NodeConnection } from '../../broker/client/kafka-client.js';
import { CreateTopics, Fetch, Produce } from '../../broker/client/apis.js';
import { decodeBatches, encodeBatch } from '../../broker/protocol/records/records.js';

const TOPIC = 'fp';
const PARTITIONS = 6;
/** Value bytes of the small records; each small batch holds one. */
const SMALL = 1000;

interface Want {
  partition: number;
  offset?: number;
  max?: number;
}

describe('Fetch over several partitions', () => {
  let broker: BrokerHandle;
  let node: NodeConnection;
  /** Stored size of one small batch (all small batches are alike). */
  let batchSize = 0;

  const fetch = (wants: Want[], maxBytes: number, opts: { minBytes?: number; maxWaitMs?: number } = {}) =>
    node.conn.send(
      1,
      12,
      (w) =>
        Fetch.write(w, 12, {
          maxWaitMs: opts.maxWaitMs ?? 0,
          minBytes: opts.minBytes ?? 1,
          maxBytes,
          isolationLevel: 0,
          topics: [{ topic: TOPIC, partitions: wants.map((x) => ({ partition: x.partition, fetchOffset: x.offset ?? 0, partitionMaxBytes: x.max ?? 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1, lastFetchedEpoch: -1 })) }],
        }),
      Fetch.read,
      { timeoutMs: 30_000 },
    );

  const produce = async (partition: number, value: Buffer) => {
    const records = await encodeBatch({ records: [{ value }] });
    const res = await node.send(Produce, { acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] });
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    return records.length;
  };

  /** Partitions of the response in order, with their batch count. */
  const summary = async (res: Awaited<ReturnType<typeof fetch>>) => {
    const out: Array<{ partition: number; batches: number; bytes: number; errorCode: number; highWatermark: number }> = [];
    for (const p of res.responses[0]!.partitions) {
      const records = p.records ?? Buffer.alloc(0);
      out.push({ partition: p.partitionIndex, batches: (await decodeBatches(records)).length, bytes: records.length, errorCode: p.errorCode, highWatermark: Number(p.highWatermark) });
    }
    return out;
  };

  beforeAll(async () => {
    broker = await startBroker({});
    node = await openNode('127.0.0.1', broker.kafkaPort);
    const created = await node.send(CreateTopics, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    expect(created.topics[0]!.errorCode).toBe(0);
    // Partitions 0-3: five small batches each. Partition 4: one 64 KiB batch. Partition 5: empty.
    for (let p = 0; p < 4; p++) {
      for (let i = 0; i < 5; i++) batchSize = await produce(p, Buffer.alloc(SMALL, 97 + p));
    }
    await produce(4, Buffer.alloc(64 * 1024, 122));
  });
  afterAll(async () => {
    node?.conn.close();
    await broker?.stop();
  });

  it('answers partitions in request order, each with its own data', async () => {
    const order = [3, 5, 0, 2, 1];
    const res = await summary(await fetch(order.map((partition) => ({ partition })), 1 << 20));
    expect(res.map((p) => p.partition)).toEqual(order);
    expect(res.map((p) => p.batches)).toEqual([5, 0, 5, 5, 5]);
    expect(res.map((p) => p.highWatermark)).toEqual([5, 0, 5, 5, 5]);
    const first = await decodeBatches((await fetch([{ partition: 2 }], 1 << 20)).responses[0]!.partitions[0]!.records!);
    expect(first[0]!.records[0]!.value!.equals(Buffer.alloc(SMALL, 99))).toBe(true);
  });

  it('shares max_bytes in request order: whole batches, partition_max_bytes, later partitions get the rest', async () => {
    // Partition limit 2.2 batches, response limit 3.5 batches: 2 + 1 + 0 + 0 batches.
    const max = Math.floor(2.2 * batchSize);
    const res = await summary(await fetch([1, 3, 0, 2].map((partition) => ({ partition, max })), Math.floor(3.5 * batchSize)));
    expect(res.map((p) => p.partition)).toEqual([1, 3, 0, 2]);
    expect(res.map((p) => p.batches)).toEqual([2, 1, 0, 0]);
    expect(res.every((p) => p.errorCode === 0)).toBe(true);
  });

  it('gives each partition at most partition_max_bytes when max_bytes is large', async () => {
    const max = Math.floor(3.5 * batchSize);
    const res = await summary(await fetch([0, 1, 2, 3].map((partition) => ({ partition, max })), 1 << 20));
    expect(res.map((p) => p.batches)).toEqual([3, 3, 3, 3]);
    for (const p of res) expect(p.bytes).toBeLessThanOrEqual(max);
  });

  it('returns one whole batch from the first partition with data even when it exceeds both limits', async () => {
    // Partition 5 is empty, 4 holds a 64 KiB batch, 0 has small batches but nothing is left for it.
    const res = await summary(await fetch([{ partition: 5 }, { partition: 4, max: 100 }, { partition: 0, max: 100 }], 100));
    expect(res.map((p) => p.partition)).toEqual([5, 4, 0]);
    expect(res.map((p) => p.batches)).toEqual([0, 1, 0]);
    expect(res[1]!.bytes).toBeGreaterThan(64 * 1024);
  });

  it('does not add a batch for a later partition once the first one filled max_bytes', async () => {
    const res = await summary(await fetch([{ partition: 4 }, { partition: 0 }, { partition: 1 }], 1000));
    expect(res.map((p) => p.batches)).toEqual([1, 0, 0]);
  });

  it('reads from each partition from its own offset, and answers at the high watermark with no records', async () => {
    const res = await summary(await fetch([{ partition: 0, offset: 3 }, { partition: 1, offset: 5 }, { partition: 2, offset: 4 }], 1 << 20));
    expect(res.map((p) => p.batches)).toEqual([2, 0, 1]);
    expect(res.map((p) => p.errorCode)).toEqual([0, 0, 0]);
  });

  it('wakes a long poll over several partitions when a later one gets data', async () => {
    const pending = fetch([0, 1, 2, 3, 5].map((partition) => ({ partition, offset: partition === 5 ? 0 : 5 })), 1 << 20, { maxWaitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    await produce(5, Buffer.from('late'));
    const res = await summary(await pending);
    expect(res.map((p) => p.batches)).toEqual([0, 0, 0, 0, 1]);
  });
});
