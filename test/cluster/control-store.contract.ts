// The behaviour every ControlStore must have; run against each implementation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlStore, TopicRecord } from '../../broker/cluster/control-store.js';
import { ControlStoreError, groupLeaseKey, partitionLeaseKey } from '../../broker/cluster/control-store.js';

export interface StoreFixture {
  /** A store on a fresh, empty backend (opened by the suite). */
  create(): Promise<ControlStore>;
  /** Another store on the same backend as the last create() (not yet opened). */
  reopen(): ControlStore;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function topic(name: string, partitions = 2): TopicRecord {
  return { name, topicId: `id-${name}`.padEnd(22, 'x'), partitions, configs: { 'cleanup.policy': 'delete' }, createdAt: 1_700_000_000_000, leaderEpochs: new Array<number>(partitions).fill(0) };
}

async function expectStoreError(p: Promise<unknown>, code: ControlStoreError['code']): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ControlStoreError);
  expect((err as ControlStoreError).code).toBe(code);
}

export function controlStoreContract(name: string, fixture: () => StoreFixture): void {
  describe(`ControlStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: ControlStore;
    const opened: ControlStore[] = [];

    beforeEach(async () => {
      fx = fixture();
      store = await fx.create();
      opened.push(store);
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => {});
      await fx.cleanup();
    });

    async function reopen(): Promise<ControlStore> {
      const s = fx.reopen();
      await s.open();
      opened.push(s);
      return s;
    }

    it('keeps one cluster id across reopen', async () => {
      const id = store.clusterId();
      expect(id.length).toBeGreaterThan(0);
      const again = await reopen();
      expect(again.clusterId()).toBe(id);
    });

    it('creates, reads, updates and deletes topics durably', async () => {
      await store.createTopic(topic('a', 3));
      await store.createTopic(topic('b'));
      expect(store.getTopic('a')).toMatchObject({ name: 'a', partitions: 3, configs: { 'cleanup.policy': 'delete' } });
      expect(store.listTopics().map((t) => t.name).sort()).toEqual(['a', 'b']);
      await expectStoreError(store.createTopic(topic('a')), 'TOPIC_ALREADY_EXISTS');
      const u = await store.updateTopic('a', { partitions: 4, leaderEpochs: [0, 1, 2, 3] });
      expect(u.partitions).toBe(4);
      expect(u.configs).toEqual({ 'cleanup.policy': 'delete' });
      await store.updateTopic('a', { configs: { 'retention.ms': '1000' } });
      await store.deleteTopic('b');
      await expectStoreError(store.deleteTopic('b'), 'UNKNOWN_TOPIC_OR_PARTITION');
      await expectStoreError(store.updateTopic('b', { partitions: 9 }), 'UNKNOWN_TOPIC_OR_PARTITION');
      await store.close();
      const again = await reopen();
      expect(again.listTopics().map((t) => t.name)).toEqual(['a']);
      expect(again.getTopic('a')).toMatchObject({ partitions: 4, leaderEpochs: [0, 1, 2, 3], configs: { 'retention.ms': '1000' } });
    });

    it('never hands out a producer id twice, across reopen', async () => {
      const a = await store.allocateProducerIds(1000);
      const b = await store.allocateProducerIds(10);
      expect(b).toBeGreaterThanOrEqual(a + 1000);
      await store.close();
      const again = await reopen();
      const c = await again.allocateProducerIds(5);
      expect(c).toBeGreaterThanOrEqual(b + 10);
    });

    it('registers and deregisters brokers', async () => {
      await store.registerBroker({ nodeId: 1, host: 'h1', port: 9092, rack: null }, 60_000);
      expect((await store.liveBrokers()).map((b) => b.nodeId)).toContain(1);
      await store.deregisterBroker(1);
      expect((await store.liveBrokers()).map((b) => b.nodeId)).not.toContain(1);
    });

    it('grants a lease to one holder at a time and renews it', async () => {
      const key = partitionLeaseKey('t', 0);
      const l1 = await store.acquireLease(key, 1, 30_000);
      expect(l1).toMatchObject({ key, holder: 1, epoch: 0, valid: true });
      expect(await store.acquireLease(key, 2, 30_000)).toBeNull();
      // The holder taking it again is a renewal: same epoch.
      expect(await store.acquireLease(key, 1, 30_000)).toMatchObject({ holder: 1, epoch: 0 });
      const renewed = await store.renewLeases(1, 30_000);
      expect(renewed.map((l) => l.key)).toEqual([key]);
      expect(await store.renewLeases(2, 30_000)).toEqual([]);
      const now = await store.now();
      expect(renewed[0]!.expiresAt).toBeGreaterThan(now);
    });

    it('hands a released lease over at once with the next epoch', async () => {
      const key = groupLeaseKey('g1');
      const l1 = (await store.acquireLease(key, 1, 30_000))!;
      await store.releaseLease(key, 1, l1.epoch + 5); // wrong epoch: no effect
      expect(await store.acquireLease(key, 2, 30_000)).toBeNull();
      await store.releaseLease(key, 1, l1.epoch);
      const l2 = await store.acquireLease(key, 2, 30_000);
      expect(l2).toMatchObject({ holder: 2, epoch: l1.epoch + 1, valid: true });
      expect((await store.renewLeases(1, 30_000)).map((l) => l.key)).not.toContain(key);
      const listed = await store.listLeases('g/');
      expect(listed.map((l) => [l.key, l.holder, l.epoch])).toEqual([[key, 2, 1]]);
    });

    it('lets another holder take an expired lease with epoch + 1, and the old holder cannot renew it', async () => {
      const key = partitionLeaseKey('t', 1);
      await store.acquireLease(key, 1, 150);
      await sleep(400);
      expect(await store.renewLeases(1, 30_000)).toEqual([]);
      const l2 = await store.acquireLease(key, 2, 30_000);
      expect(l2).toMatchObject({ holder: 2, epoch: 1 });
    });

    it('fences high watermark publication by holder, epoch and expiry, and seals the old epoch at it', async () => {
      const key = partitionLeaseKey('t', 2);
      const l1 = (await store.acquireLease(key, 1, 300))!;
      expect(await store.publishHighWatermark(key, 1, l1.epoch, 10)).toBe(true);
      expect(await store.publishHighWatermark(key, 1, l1.epoch, 7)).toBe(true); // never moves back
      expect(await store.publishHighWatermark(key, 2, l1.epoch, 50)).toBe(false);
      expect(await store.publishHighWatermark(key, 1, l1.epoch + 1, 50)).toBe(false);
      await sleep(500);
      // Expired: a paused writer that wakes up now must not be able to acknowledge.
      expect(await store.publishHighWatermark(key, 1, l1.epoch, 20)).toBe(false);
      const l2 = (await store.acquireLease(key, 2, 30_000))!;
      expect(l2).toMatchObject({ holder: 2, epoch: l1.epoch + 1, epochStartOffset: 10, highWatermark: 10 });
      expect(await store.manifest(key)).toEqual([
        { epoch: l1.epoch, holder: 1, startOffset: 0, endOffset: 10 },
        { epoch: l2.epoch, holder: 2, startOffset: 10, endOffset: null },
      ]);
      expect(await store.publishHighWatermark(key, 2, l2.epoch, 15)).toBe(true);
      expect((await store.listLeases(key))[0]).toMatchObject({ highWatermark: 15, epoch: l2.epoch });
    });
  });
}
