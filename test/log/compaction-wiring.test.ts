// Compaction as wired into the broker: produce validation for compacted topics, the cleaner
// pass over compacted partitions, and retention only where cleanup.policy includes delete.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { readProduceResponse, writeProduceRequest, type ProduceRequest, type ProduceResponse } from '../../broker/protocol/generated/produce.js';
import { Compression } from '../../broker/protocol/records/batch-header.js';
import { decodeBatches, encodeBatchSync, type BatchInputRecord } from '../../broker/protocol/records/records.js';
import { openHarness, type Harness } from '../handlers/admin-harness.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function produce(harness: Harness, topic: string, records: BatchInputRecord[], compression = Compression.None) {
  const batch = encodeBatchSync({ records, compression });
  const res = await harness.call<ProduceRequest, ProduceResponse>(0, 9, writeProduceRequest, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  }, readProduceResponse);
  return res.responses[0]!.partitionResponses[0]!;
}

async function keysIn(harness: Harness, topic: string): Promise<Array<string | null>> {
  const log = harness.broker.topics.partition(topic, 0)!;
  const batches = await decodeBatches(await log.read(log.logStartOffset, 1 << 24));
  return batches.flatMap((b) => b.records.map((r) => r.key?.toString() ?? null));
}

describe('compaction wiring', () => {
  it('rejects keyless records on compacted topics (plain and compressed), accepts them elsewhere', async () => {
    h = await openHarness();
    await h.createTopic('cmp', 1, { 'cleanup.policy': 'compact' });
    await h.createTopic('both', 1, { 'cleanup.policy': 'compact,delete' });
    await h.createTopic('plain', 1);
    for (const topic of ['cmp', 'both']) {
      const bad = await produce(h, topic, [{ key: 'a', value: '1' }, { key: null, value: '2' }]);
      expect(bad.errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(bad.errorMessage).toMatch(/without key/);
      const zipped = await produce(h, topic, [{ key: null, value: 'x' }], Compression.Gzip);
      expect(zipped.errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect((await produce(h, topic, [{ key: 'a', value: '1' }], Compression.Gzip)).errorCode).toBe(ErrorCode.NONE);
      expect(h.broker.topics.partition(topic, 0)!.logEndOffset).toBe(1);
    }
    expect((await produce(h, 'plain', [{ key: null, value: 'x' }])).errorCode).toBe(ErrorCode.NONE);
  });

  it('runCleaner compacts partitions of compacted topics only and reports figures', async () => {
    h = await openHarness();
    const small = { 'segment.bytes': '300' };
    await h.createTopic('cmp', 1, { ...small, 'cleanup.policy': 'compact' });
    await h.createTopic('plain', 1, small);
    for (const topic of ['cmp', 'plain']) {
      for (let i = 0; i < 30; i++) expect((await produce(h, topic, [{ key: `k${i % 3}`, value: `v${i}` }])).errorCode).toBe(ErrorCode.NONE);
    }
    await h.broker.runCleaner();
    const cmp = await keysIn(h, 'cmp');
    expect(cmp.length).toBeLessThan(30);
    const active = h.broker.topics.partition('cmp', 0)!.sealedSegments().at(-1)!.nextOffset;
    // Below the active segment each key appears once.
    expect(cmp.slice(0, cmp.length - (30 - active)).sort()).toEqual(['k0', 'k1', 'k2']);
    expect(await keysIn(h, 'plain')).toHaveLength(30);
    const stats = h.broker.logCleaner.stats();
    expect(stats.partitions['cmp-0']).toMatchObject({ cleanings: 1, recordsRemoved: 30 - cmp.length });
    expect(stats.partitions['plain-0']).toBeUndefined();
    expect(stats.lastCleanTimeMs).toBeGreaterThan(0);
  });

  it('retention deletes segments for compact,delete but not for compact alone', async () => {
    h = await openHarness();
    const cfg = { 'segment.bytes': '300', 'retention.ms': '1000' };
    await h.createTopic('only', 1, { ...cfg, 'cleanup.policy': 'compact' });
    await h.createTopic('both', 1, { ...cfg, 'cleanup.policy': 'compact,delete' });
    for (const topic of ['only', 'both']) {
      for (let i = 0; i < 12; i++) await produce(h, topic, [{ key: `k${i}`, value: `v${i}` }]);
    }
    await h.broker.runRetention(Date.now() + 3_600_000);
    expect(h.broker.topics.partition('only', 0)!.logStartOffset).toBe(0);
    expect(h.broker.topics.partition('both', 0)!.logStartOffset).toBeGreaterThan(0);
  });
});
