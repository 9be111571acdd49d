// Shared-media cluster figures: failover time (leader SIGKILL -> first acknowledged produce on its
// partition), consume throughput served by one broker vs three from the same files, and produce
// throughput of a three-broker cluster vs a single node, and tailing latency through the leader
// and through a non-leader (served from the shared files), all on this machine.
// Usage: npm run build && tsx bench/cluster-bench.ts [--trials 7] [--ttl-ms 2000] [--seconds 10]
//   [--phases tail,failover,throughput] [--tail-rate 200] [--tail-seconds 20]
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
import { tail, type TailResult } from './lib/tailer.js';
import { runInWorker } from './lib/worker-run.js';
import { summarize } from './lib/stats.js';
import type { ProduceJob, ProduceResult } from './lib/load-jobs.js';

const opts = new Command()
  .option('--trials <n>', 'failover trials', '7')
  .option('--ttl-ms <ms>', 'lease TTL', '2000')
  .option('--heartbeat-ms <ms>', 'lease heartbeat', '300')
  .option('--seconds <s>', 'produce phase length', '10')
  .option('--phases <list>', 'comma-separated: tail, failover, throughput', 'tail,failover,throughput')
  .option('--tail-rate <n>', 'tail phase: produce requests (one batch each) per second to the leader', '200')
  .option('--tail-seconds <s>', 'tail phase: measured seconds', '20')
  .parse()
  .opts<{ trials: string; ttlMs: string; heartbeatMs: string; seconds: string; phases: string; tailRate: string; tailSeconds: string }>();
const PHASES = new Set(opts.phases.split(',').map((x) => x.trim()));
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

const TAIL_RECORDS = 100;
const TAIL_RECORD_BYTES = 100;

/**
 * Paced acks=all produce to the partitions one broker leads, while one tailer long-polls them
 * through that leader and another through a broker that does not lead them (it serves them
 * from the shared files up to the high watermark it hears of from the control store).
 */
async function tailLatency(router: ClusterRouter, brokers: Map<number, BrokerHandle>, topic: string): Promise<Record<string, unknown>> {
  await waitLeaders(router);
  const leaders = Array.from({ length: PARTITIONS }, (_, p) => router.leaderOf(p)!.leader);
  const leader = leaders[0]!;
  const partitions = leaders.flatMap((l, p) => (l === leader ? [p] : []));
  const other = [...brokers.keys()].find((id) => id !== leader)!;
  const host = '127.0.0.1';
  const from = Array.from({ length: PARTITIONS }, () => 0);
  const rate = Number(opts.tailRate);
  const seconds = Number(opts.tailSeconds);
  // The producer runs in a worker thread so that it does not delay the tailers' event loop.
  const startAt = Date.now() + 2500;
  const measureFrom = startAt + 2000;
  const measureTo = measureFrom + seconds * 1000;
  const job: ProduceJob = {
    kind: 'produce', host, port: brokers.get(leader)!.kafkaPort, topic, partitions, connections: 1, depth: 1,
    ratePerSec: rate, batchRecords: TAIL_RECORDS, recordBytes: TAIL_RECORD_BYTES, acks: -1, stampTime: true,
    startAt, measureFrom, measureTo,
  };
  const tailVia = (node: number): Promise<TailResult> =>
    tail({ host, port: brokers.get(node)!.kafkaPort, topic, from, partitions, measureFrom, measureTo, stopAt: measureTo + 3000 });
  const [prod, viaLeader, viaOther] = await Promise.all([runInWorker<ProduceResult>(job), tailVia(leader), tailVia(other)]);
  const ms = (xs: ArrayLike<number>) => {
    const s = summarize(xs);
    return { count: s.count, p50: +s.p50.toFixed(1), p99: +s.p99.toFixed(1), max: +s.max.toFixed(1) };
  };
  const out = {
    leader, nonLeader: other, partitions, ratePerSec: rate, seconds, batchRecords: TAIL_RECORDS, recordBytes: TAIL_RECORD_BYTES,
    produced: prod.requests, produceErrors: prod.errors, produceLatencyMs: ms(prod.latencyMs),
    viaLeader: { e2eMs: ms(viaLeader.e2eMs), batches: viaLeader.batches, fetches: viaLeader.fetches, fetchRoundTripMs: ms(viaLeader.roundTripMs), errors: viaLeader.errors, firstError: viaLeader.firstError },
    viaNonLeader: { e2eMs: ms(viaOther.e2eMs), batches: viaOther.batches, fetches: viaOther.fetches, fetchRoundTripMs: ms(viaOther.roundTripMs), errors: viaOther.errors, firstError: viaOther.firstError },
  };
  console.log(`tail latency at ${rate} batches/s to node ${leader} (partitions ${partitions.join(',')}): produce p50 ${out.produceLatencyMs.p50} p99 ${out.produceLatencyMs.p99} ms;` +
    ` via leader p50 ${out.viaLeader.e2eMs.p50} p99 ${out.viaLeader.e2eMs.p99} ms (${out.viaLeader.e2eMs.count} batches);` +
    ` via node ${other} (not leader) p50 ${out.viaNonLeader.e2eMs.p50} p99 ${out.viaNonLeader.e2eMs.p99} ms (${out.viaNonLeader.e2eMs.count} batches)`);
  return out;
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

    // ---- tail latency: through the leader and through a non-leader ----
    if (PHASES.has('tail')) {
      const tailRouter = new ClusterRouter(nodes, 'bench-tail');
      await createTopic(await tailRouter.conn(1), 'bench-tail', PARTITIONS);
      results.tail = await tailLatency(tailRouter, brokers, 'bench-tail');
      tailRouter.close();
    }

    // ---- failover ----
    const one = await encodeBatch({ records: [{ key: 'k', value: 'v' }], compression: Compression.None });
    const failovers: number[] = [];
    for (let t = 0; t < (PHASES.has('failover') ? TRIALS : 0); t++) {
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
    if (failovers.length > 0) results.failover = { trials: failovers.length, medianMs: Math.round(median(failovers)), worstMs: Math.round(Math.max(...failovers)), samplesMs: failovers.map(Math.round), leaseTtlMs: TTL, targetMs: 2000 + TTL };

    if (!PHASES.has('throughput')) {
      router.close();
      return finish(results);
    }
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
  finish(results);
}

function finish(results: Record<string, unknown>): void {
  console.log(JSON.stringify(results, null, 2));
  // Only a run of every phase replaces the day's results file.
  if (!['tail', 'failover', 'throughput'].every((p) => PHASES.has(p))) return;
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `cluster-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

await main();
process.exit(0);
