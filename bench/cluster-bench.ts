// Shared-media cluster figures: failover time (leader SIGKILL -> first acknowledged produce on its
// partition), consume throughput served by one broker vs three from the same files, and produce
// throughput of a three-broker cluster vs a single node, all on this machine.
// Usage: npm run build && tsx bench/cluster-bench.ts [--trials 7] [--ttl-ms 2000] [--seconds 10]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { encodeBatch } from '../broker/protocol/records/records.js';
import { Compression } from '../broker/protocol/records/batch-header.js';
import { startBroker, type BrokerHandle } from '../test/harness/broker.js';
import { startPostgres } from '../test/harness/postgres.js';
import { ClusterRouter } from '../test/cluster/cluster-router.js';
import { createTopic, fetchOnce, produce, sleep } from '../test/robustness/wire.js';

const opts = new Command()
  .option('--trials <n>', 'failover trials', '7')
  .option('--ttl-ms <ms>', 'lease TTL', '2000')
  .option('--heartbeat-ms <ms>', 'lease heartbeat', '300')
  .option('--seconds <s>', 'produce phase length', '10')
  .parse()
  .opts<{ trials: string; ttlMs: string; heartbeatMs: string; seconds: string }>();
const TRIALS = Number(opts.trials);
const TTL = Number(opts.ttlMs);
const HB = Number(opts.heartbeatMs);
const SECONDS = Number(opts.seconds);
const PARTITIONS = 6;
const RECORDS_PER_BATCH = 100;
const VALUE = 'x'.repeat(100);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function batch(): Promise<Buffer> {
  return encodeBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: `k${i}`, value: VALUE })), compression: Compression.None });
}

/** acks=all produce load over every partition for `seconds`, 4 batches in flight per partition. */
async function produceLoad(router: ClusterRouter, topic: string, seconds: number): Promise<{ records: number; mbPerSec: number }> {
  const bytes = await batch();
  let records = 0;
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  const lane = async (p: number) => {
    while (Date.now() < end) {
      const l = router.leaderOf(p);
      if (!l) {
        await router.refresh();
        continue;
      }
      try {
        const r = await produce(await router.conn(l.leader), topic, p, bytes, -1, 10_000);
        if (r.errorCode === 0) records += RECORDS_PER_BATCH;
        else await router.refresh();
      } catch {
        await router.refresh();
      }
    }
  };
  await Promise.all(Array.from({ length: PARTITIONS * 4 }, (_, i) => lane(i % PARTITIONS)));
  const secs = (Date.now() - started) / 1000;
  return { records, mbPerSec: (records * (VALUE.length + 2)) / secs / 1e6 };
}

/** Reads every partition to its end; partition p through readers[p % readers.length]. */
async function consumeAll(router: ClusterRouter, topic: string, readers: number[]): Promise<{ records: number; mbPerSec: number; seconds: number }> {
  let records = 0;
  let bytes = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, p) => {
      const node = readers[p % readers.length]!;
      let offset = 0;
      for (;;) {
        const f = await fetchOnce(await router.conn(node), topic, p, offset, 4 << 20);
        const fresh = f.batches.filter((b) => b.header.baseOffset + b.header.lastOffsetDelta >= offset);
        if (fresh.length === 0) break;
        for (const b of fresh) {
          records += b.records.length;
          bytes += b.header.batchLength + 12;
        }
        const last = fresh[fresh.length - 1]!;
        offset = last.header.baseOffset + last.header.lastOffsetDelta + 1;
        if (offset >= f.highWatermark) break;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  return { records, mbPerSec: bytes / seconds / 1e6, seconds };
}

async function waitLeaders(router: ClusterRouter): Promise<void> {
  for (;;) {
    await router.refresh();
    if (Array.from({ length: PARTITIONS }, (_, p) => router.leaderOf(p)).every((l) => l !== undefined)) return;
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const url = await pg.createDatabase('bench');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-cluster-bench-'));
  const brokers = new Map<number, BrokerHandle>();
  const results: Record<string, unknown> = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) }, leaseTtlMs: TTL, heartbeatMs: HB };
  try {
    for (const id of [1, 2, 3]) {
      brokers.set(id, await startBroker({ dataDir, args: ['--control', url, '--node-id', String(id), '--lease-ttl-ms', String(TTL), '--heartbeat-ms', String(HB)] }));
    }
    const nodes = () => [...brokers].map(([nodeId, b]) => ({ nodeId, port: b.kafkaPort }));
    const router = new ClusterRouter(nodes, 'bench-failover');
    await createTopic(await router.conn(1), 'bench-failover', PARTITIONS);
    await waitLeaders(router);

    // ---- failover ----
    const one = await encodeBatch({ records: [{ key: 'k', value: 'v' }], compression: Compression.None });
    const failovers: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      await waitLeaders(router);
      const victim = router.leaderOf(0)!.leader;
      const r0 = await produce(await router.conn(victim), 'bench-failover', 0, one);
      if (r0.errorCode !== 0) {
        t--;
        await sleep(500);
        continue;
      }
      const b = brokers.get(victim)!;
      const killedAt = performance.now();
      await b.kill();
      router.drop(victim);
      for (;;) {
        await router.refresh();
        const l = router.leaderOf(0);
        if (l && l.leader !== victim) {
          try {
            const r = await produce(await router.conn(l.leader), 'bench-failover', 0, one, -1, 3_000);
            if (r.errorCode === 0) break;
          } catch {
            router.drop(l.leader);
          }
        }
        await sleep(20);
      }
      failovers.push(performance.now() - killedAt);
      console.log(`failover trial ${t + 1}: ${failovers[failovers.length - 1]!.toFixed(0)} ms (node ${victim} killed)`);
      await b.restart();
      router.drop(victim);
      // Let the restarted broker take its share back before the next trial.
      await sleep(TTL + 1_000);
    }
    results.failover = { trials: failovers.length, medianMs: Math.round(median(failovers)), worstMs: Math.round(Math.max(...failovers)), samplesMs: failovers.map(Math.round), leaseTtlMs: TTL, targetMs: 2000 + TTL };

    // ---- produce: cluster ----
    const prodRouter = new ClusterRouter(nodes, 'bench-produce');
    await createTopic(await prodRouter.conn(1), 'bench-produce', PARTITIONS);
    await waitLeaders(prodRouter);
    const clusterProduce = await produceLoad(prodRouter, 'bench-produce', SECONDS);
    console.log(`cluster produce: ${clusterProduce.records} records, ${clusterProduce.mbPerSec.toFixed(1)} MB/s`);

    // ---- consume: one broker vs three from the same files ----
    const oneBroker = await consumeAll(prodRouter, 'bench-produce', [1]);
    const threeBrokers = await consumeAll(prodRouter, 'bench-produce', [1, 2, 3]);
    console.log(`consume via 1 broker: ${oneBroker.mbPerSec.toFixed(1)} MB/s; via 3: ${threeBrokers.mbPerSec.toFixed(1)} MB/s`);
    results.consume = { records: oneBroker.records, oneBrokerMBps: +oneBroker.mbPerSec.toFixed(1), threeBrokersMBps: +threeBrokers.mbPerSec.toFixed(1), oneBrokerSeconds: oneBroker.seconds, threeBrokersSeconds: threeBrokers.seconds };
    prodRouter.close();
    router.close();
    for (const b of brokers.values()) await b.kill();
    brokers.clear();

    // ---- produce: single node, local control store ----
    const single = await startBroker({});
    const singleRouter = new ClusterRouter(() => [{ nodeId: 0, port: single.kafkaPort }], 'bench-produce');
    await createTopic(await singleRouter.conn(0), 'bench-produce', PARTITIONS);
    await waitLeaders(singleRouter);
    const singleProduce = await produceLoad(singleRouter, 'bench-produce', SECONDS);
    singleRouter.close();
    await single.stop();
    console.log(`single-node produce: ${singleProduce.records} records, ${singleProduce.mbPerSec.toFixed(1)} MB/s`);
    results.produce = {
      recordBytes: VALUE.length,
      recordsPerBatch: RECORDS_PER_BATCH,
      inFlightPerPartition: 4,
      partitions: PARTITIONS,
      seconds: SECONDS,
      clusterRecordsPerSec: Math.round(clusterProduce.records / SECONDS),
      clusterMBps: +clusterProduce.mbPerSec.toFixed(1),
      singleNodeRecordsPerSec: Math.round(singleProduce.records / SECONDS),
      singleNodeMBps: +singleProduce.mbPerSec.toFixed(1),
    };
  } finally {
    for (const b of brokers.values()) await b.kill();
    rmSync(dataDir, { recursive: true, force: true });
    await pg.stop();
  }
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `cluster-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${file}`);
  process.exit(0);
}

await main();
