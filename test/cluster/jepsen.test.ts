// Fault injection in the style of Jepsen: idempotent acks=all producers and a consumer group run at
// steady load against three `floe serve` processes on one shared data dir while brokers are
// SIGKILLed and restarted, or paused with SIGSTOP past the lease TTL and resumed. A checker then
// proves the history: see crash-check.ts (producer) and jepsen-check.ts (readers, group, manifest).
// Part of `npm test` with a bounded fault phase; `npm run test:faults` runs it longer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { InitProducerId } from '../../broker/client/apis.js';
import { errorName, isRetriable } from '../../broker/client/errors.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { Compression } from '../../broker/protocol/records/batch-header.js';
import { encodeBatch } from '../../broker/protocol/records/records.js';
import type { ManifestEpoch } from '../../broker/cluster/control-store.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { type Ack, checkPartition, parseValue, type StoredRecord, valueOf } from '../robustness/crash-check.js';
import { createTopic, fetchAll, fetchOnce, produce, request, sleep } from '../robustness/wire.js';
import { ClusterRouter } from './cluster-router.js';
import { checkConsumers, checkManifest, checkServed, type ConsumerEvent, type FinalPartition, type ServedRecord } from './jepsen-check.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const TOPIC = 'jepsen';
const GROUP = 'jepsen-group';
const PARTITIONS = 6;
const NODES = [1, 2, 3];
const TTL_MS = 2000;
const HEARTBEAT_MS = 300;
/**
 * Faults are injected for this long; then the cluster heals and everything drains. `npm test` runs
 * the CI length; `npm run test:faults` a longer one (FLOE_JEPSEN_SECONDS, or FLOE_JEPSEN_MS).
 */
const FAULT_PHASE_MS = process.env.FLOE_JEPSEN_SECONDS !== undefined ? Number(process.env.FLOE_JEPSEN_SECONDS) * 1000 : Number(process.env.FLOE_JEPSEN_MS ?? 75_000);
/** A fault cycle takes 3-8 s (longer on a loaded machine): a run must have injected at least this many. */
const MIN_FAULTS = Math.max(3, Math.floor(FAULT_PHASE_MS / 12_000));
const WINDOW = 2;
const MAX_RECORDS_PER_BATCH = 20;
// kafkajs (the group members) decodes only these two.
const CODECS = [Compression.None, Compression.Gzip];

const SEED = Number(process.env.FLOE_JEPSEN_SEED ?? Date.now() % 1_000_000);
let rngState = SEED || 1;
function rand(): number {
  rngState = (rngState * 48271) % 0x7fffffff;
  return rngState / 0x7fffffff;
}
const randInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

interface SentBatch {
  baseSequence: number;
  count: number;
  bytes: Buffer;
}

type Outcome = { kind: 'ok'; baseOffset: number } | { kind: 'retry'; why: string } | { kind: 'fatal'; why: string };

let pgServer: PostgresHandle | undefined;
let dataDir = '';
const brokers = new Map<number, BrokerHandle>();

afterAll(async () => {
  for (const b of brokers.values()) {
    try {
      process.kill(b.pid, 'SIGCONT');
    } catch {
      // not running
    }
    await b.kill();
  }
  if (dataDir && process.env.FLOE_KEEP_DATA !== '1') rmSync(dataDir, { recursive: true, force: true });
  else if (dataDir) console.log(`jepsen data kept in ${dataDir}`);
  await pgServer?.stop();
});

describe('jepsen: SIGKILL, SIGSTOP past the TTL and restarts under idempotent produce and a consumer group', () => {
  it('keeps every acknowledged record exactly once, in order, and serves nothing past a sealed end', { timeout: FAULT_PHASE_MS + 150_000 }, async () => {
    try {
      await run();
    } catch (err) {
      dumpBrokerLogs();
      throw err;
    }
  });
});

/** On failure: where each broker's captured output went, and how its processes ended. */
function dumpBrokerLogs(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-jepsen-logs-'));
  for (const [id, b] of brokers) {
    const file = path.join(dir, `n${id}.log`);
    writeFileSync(file, b.logs());
    const exits = b.logs().split('\n').filter((l) => l.startsWith('--- harness:') || /"level":(50|60)|Error/.test(l));
    console.log(`n${id} (seed ${SEED}): output in ${file}; last events:\n  ${exits.slice(-8).join('\n  ')}`);
  }
}

async function run(): Promise<void> {
  {
    pgServer = await startPostgres();
    const url = await pgServer.createDatabase('jepsen');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-jepsen-'));
    for (const id of NODES) {
      brokers.set(
        id,
        await startBroker({
          dataDir,
          args: ['--control', url, '--node-id', String(id), '--lease-ttl-ms', String(TTL_MS), '--heartbeat-ms', String(HEARTBEAT_MS), '--log-segment-bytes', String(256 << 10)],
        }),
      );
    }
    const nodes = () => NODES.map((nodeId) => ({ nodeId, port: brokers.get(nodeId)!.kafkaPort }));
    const router = new ClusterRouter(nodes, TOPIC);
    await createTopic(await router.conn(1), TOPIC, PARTITIONS);
    const init = await request(await router.conn(1), InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(init.errorCode).toBe(0);
    const { producerId, producerEpoch } = init;
    for (;;) {
      await router.refresh();
      if ([...Array(PARTITIONS).keys()].every((p) => router.leaderOf(p) !== undefined)) break;
      await sleep(100);
    }

    const started = Date.now();
    const acks: Ack[][] = Array.from({ length: PARTITIONS }, () => []);
    const violations: string[] = [];
    const counters = { batches: 0, resends: 0, recoveries: 0, notLeader: 0, timeouts: 0 };
    let stopping = false;

    // ---- producers: one idempotent stream per partition, routed to the current leader ----
    const send = async (p: number, batch: SentBatch): Promise<Outcome> => {
      const l = router.leaderOf(p);
      if (!l) {
        await router.refresh();
        return { kind: 'retry', why: 'no leader known' };
      }
      try {
        const r = await produce(await router.conn(l.leader), TOPIC, p, batch.bytes, -1, 3_000);
        if (r.errorCode === 0) return { kind: 'ok', baseOffset: r.baseOffset };
        if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) counters.notLeader++;
        void router.refresh();
        const why = `${errorName(r.errorCode)} from node ${l.leader}: ${r.errorMessage ?? ''}`;
        return isRetriable(r.errorCode) ? { kind: 'retry', why } : { kind: 'fatal', why };
      } catch (e) {
        // A paused broker never answers: forget the connection, it may be someone else's lease now.
        counters.timeouts++;
        router.drop(l.leader);
        void router.refresh();
        return { kind: 'retry', why: (e as Error).message };
      }
    };
    const ack = (p: number, b: SentBatch, baseOffset: number) => {
      for (let i = 0; i < b.count; i++) acks[p]!.push({ seq: b.baseSequence + i, offset: baseOffset + i });
    };
    const producerLoop = async (p: number): Promise<void> => {
      let nextSeq = 0;
      const unacked: SentBatch[] = [];
      const inflight: Promise<Outcome>[] = [];
      for (;;) {
        while (!stopping && inflight.length < WINDOW) {
          const count = randInt(1, MAX_RECORDS_PER_BATCH);
          const baseSequence = nextSeq;
          nextSeq += count;
          const records = Array.from({ length: count }, (_, i) => ({ key: `k${(baseSequence + i) % 7}`, value: valueOf(p, baseSequence + i) }));
          const bytes = await encodeBatch({ records, producerId, producerEpoch, baseSequence, compression: CODECS[randInt(0, CODECS.length - 1)] });
          counters.batches++;
          const b = { baseSequence, count, bytes };
          unacked.push(b);
          inflight.push(send(p, b));
        }
        if (unacked.length === 0) return;
        const out = await inflight.shift()!;
        if (out.kind === 'ok') {
          ack(p, unacked.shift()!, out.baseOffset);
          await sleep(randInt(0, 10));
          continue;
        }
        if (out.kind === 'fatal') {
          violations.push(`p${p}: batch seq ${unacked[0]!.baseSequence} refused: ${out.why}`);
          return;
        }
        // Let the window settle, then resend every unacknowledged batch in order, one at a time.
        counters.recoveries++;
        await Promise.all(inflight.splice(0));
        while (unacked.length > 0) {
          const b = unacked[0]!;
          counters.resends++;
          const r = await send(p, b);
          if (r.kind === 'ok') {
            ack(p, b, r.baseOffset);
            unacked.shift();
          } else if (r.kind === 'fatal') {
            violations.push(`p${p}: resend of batch seq ${b.baseSequence} refused: ${r.why}`);
            return;
          } else {
            if (Date.now() - started > FAULT_PHASE_MS + 60_000) {
              violations.push(`p${p}: batch seq ${b.baseSequence} never acknowledged: ${r.why}`);
              return;
            }
            await sleep(50);
          }
        }
      }
    };
    const producers = [...Array(PARTITIONS).keys()].map((p) => producerLoop(p));

    // ---- raw readers: tail every partition through a random broker (any-broker reads) ----
    const served: ServedRecord[] = [];
    let readGaps = 0;
    const readerLoop = async (p: number): Promise<void> => {
      let offset = 0;
      while (!stopping) {
        const node = NODES[randInt(0, NODES.length - 1)]!;
        try {
          const f = await fetchOnce(await router.conn(node), TOPIC, p, offset);
          for (const b of f.batches) {
            for (const r of b.records) {
              if (r.offset < offset) continue;
              // Offsets are dense (no compaction here): a fetch must never jump over one.
              if (r.offset > offset && readGaps++ < 20) violations.push(`p${p}: node ${node} served offset ${r.offset} to a fetch at ${offset} (read gap)`);
              served.push({ partition: p, offset: r.offset, value: r.value?.toString('utf8') ?? null, node });
              offset = r.offset + 1;
            }
          }
        } catch {
          router.drop(node);
        }
        await sleep(50);
      }
    };
    const readers = [...Array(PARTITIONS).keys()].map((p) => readerLoop(p));

    // ---- consumer group: two kafkajs members with manual, acknowledged commits ----
    const events: ConsumerEvent[] = [];
    const kafka = new Kafka({
      clientId: 'jepsen',
      brokers: NODES.map((id) => brokers.get(id)!.bootstrap),
      logLevel: process.env.FLOE_JEPSEN_KAFKAJS_LOG === "1" ? logLevel.INFO : logLevel.NOTHING,
      requestTimeout: 3_000,
      connectionTimeout: 1_000,
      retry: { retries: 1000, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const consumers = [0, 1].map((i) => {
      const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 8_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200, retry: { retries: 1000, initialRetryTime: 100, maxRetryTime: 1_000 } });
      c.on(c.events.GROUP_JOIN, (e) => {
        const parts = (e.payload.memberAssignment[TOPIC] ?? []) as number[];
        events.push({ kind: 'join', consumer: i, partitions: [...parts] });
      });
      return c;
    });
    for (const [i, c] of consumers.entries()) {
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const p = batch.partition;
          if (batch.messages.length === 0) return;
          for (const m of batch.messages) {
            events.push({ kind: 'delivery', consumer: i, partition: p, offset: Number(m.offset), value: m.value?.toString('utf8') ?? null });
            resolveOffset(m.offset);
          }
          const nextOffset = Number(batch.messages[batch.messages.length - 1]!.offset) + 1;
          try {
            await c.commitOffsets([{ topic: TOPIC, partition: p, offset: String(nextOffset) }]);
            events.push({ kind: 'commit', consumer: i, partition: p, offset: nextOffset });
          } catch {
            // Not acknowledged: it does not count as committed.
          }
          await heartbeat().catch(() => {});
        },
      });
    }

    // ---- faults ----
    const faults: string[] = [];
    const leaderOfAny = (): number => {
      const ls = [...Array(PARTITIONS).keys()].map((p) => router.leaderOf(p)?.leader).filter((x): x is number => x !== undefined && x > 0);
      return ls.length > 0 ? ls[randInt(0, ls.length - 1)]! : NODES[randInt(0, NODES.length - 1)]!;
    };
    while (Date.now() - started < FAULT_PHASE_MS) {
      await sleep(randInt(1_000, 3_000));
      await router.refresh();
      const victim = leaderOfAny();
      const b = brokers.get(victim)!;
      const t = ((Date.now() - started) / 1000).toFixed(1);
      const kind = randInt(0, 2);
      if (kind === 0) {
        await b.kill();
        await sleep(randInt(0, 1_500));
        await b.restart();
        faults.push(`${t}s SIGKILL+restart n${victim}`);
      } else if (kind === 1) {
        const pause = TTL_MS + randInt(300, 2_000);
        process.kill(b.pid, 'SIGSTOP');
        await sleep(pause);
        process.kill(b.pid, 'SIGCONT');
        faults.push(`${t}s SIGSTOP ${pause}ms n${victim}`);
      } else {
        await b.restart();
        faults.push(`${t}s restart n${victim}`);
      }
    }

    // ---- heal and drain ----
    stopping = true;
    await Promise.all(producers);
    await Promise.all(readers);
    const totalAcked = acks.reduce((n, a) => n + a.length, 0);
    // The group must catch up with everything acknowledged (bounded).
    const drainDeadline = Date.now() + 60_000;
    const caughtUp = () => acks.every((a, p) => {
      // No spread: a long run acknowledges more offsets than a call's arguments can hold.
      const want = a.reduce((m, x) => Math.max(m, x.offset + 1), 0);
      let next = 0;
      for (const e of events) if (e.kind === 'commit' && e.partition === p) next = Math.max(next, e.offset);
      return next >= want;
    });
    while (!caughtUp() && Date.now() < drainDeadline) await sleep(250);
    for (const c of consumers) await c.disconnect().catch(() => {});

    // ---- the checker ----
    const final = new Map<number, FinalPartition>();
    const report: string[] = [];
    let sealedEnds = 0;
    const db = new pg.Client({ connectionString: url });
    db.on('error', () => {});
    await db.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      // Read through a broker that does not lead the partition: the shared-media path.
      const { highWatermark, batches } = await fetchAll(await router.conn(NODES[p % NODES.length]!), TOPIC, p);
      const stored: StoredRecord[] = batches.flatMap((b) => b.records.map((r, i) => ({ offset: r.offset, value: r.value, producerId: b.header.producerId, batchSeq: b.header.baseSequence + i })));
      violations.push(...checkPartition(p, producerId, acks[p]!, stored, highWatermark));
      const offsets = acks[p]!.map((a) => a.offset);
      if (new Set(offsets).size !== offsets.length) violations.push(`p${p}: an offset was acknowledged twice`);
      final.set(p, { highWatermark, values: new Map(stored.map((r) => [r.offset, r.value?.toString('utf8') ?? null])) });
      const rows = await db.query<{ epoch: number; holder: number; start_offset: string; end_offset: string | null }>(
        'SELECT epoch, holder, start_offset, end_offset FROM floe_manifest WHERE key = $1 ORDER BY epoch',
        [`p/${TOPIC}/${p}`],
      );
      const manifest: ManifestEpoch[] = rows.rows.map((r) => ({ epoch: r.epoch, holder: r.holder, startOffset: Number(r.start_offset), endOffset: r.end_offset === null ? null : Number(r.end_offset) }));
      sealedEnds += manifest.filter((m) => m.endOffset !== null).length;
      violations.push(...checkManifest(p, manifest, batches.map((b) => ({ baseOffset: b.header.baseOffset, lastOffset: b.header.baseOffset + b.header.lastOffsetDelta, epoch: b.header.partitionLeaderEpoch })), highWatermark));
      for (const r of stored) if (parseValue(r.value)?.p !== p) violations.push(`p${p}: foreign record at ${r.offset}`);
      report.push(`  p${p}: acked ${acks[p]!.length}, stored ${stored.length}, hw ${highWatermark}, epochs ${manifest.map((m) => `${m.epoch}@${m.startOffset}`).join(' ')}`);
    }
    violations.push(...checkServed(served, final));
    // Committed offsets as the control store holds them (what any coordinator reloads on takeover).
    const committedRows = await db.query<{ partition: number; committed_offset: string }>('SELECT partition, committed_offset FROM floe_offsets WHERE group_id = $1 AND topic = $2', [GROUP, TOPIC]);
    const committed = new Map(committedRows.rows.map((r) => [r.partition, Number(r.committed_offset)]));
    // Each change of the group's coordinator bumps its lease epoch.
    const groupLease = await db.query<{ epoch: number }>('SELECT epoch FROM floe_leases WHERE key = $1', [`g/${GROUP}`]);
    const coordinatorMoves = groupLease.rows[0]?.epoch ?? 0;
    await db.end();
    router.close();
    const group = checkConsumers(events, final, committed);
    violations.push(...group.violations);

    console.log(
      [
        `jepsen (seed ${SEED}, TTL ${TTL_MS} ms): ${faults.length} faults in ${(FAULT_PHASE_MS / 1000).toFixed(0)} s: ${faults.join(', ')}`,
        `  producers: ${totalAcked} records acknowledged in ${counters.batches} batches; ${counters.recoveries} recoveries, ${counters.resends} resends, ${counters.notLeader} NOT_LEADER_OR_FOLLOWER, ${counters.timeouts} timeouts/disconnects, ${router.refreshes} metadata refreshes`,
        `  ${PARTITIONS} partitions, ${sealedEnds} sealed epoch ends checked against the stored batches:`,
        ...report,
        `  readers: ${served.length} records served from random brokers during the faults, each compared with the final log; ${readGaps} read gaps`,
        `  group: ${coordinatorMoves} coordinator moves, ${group.stats.deliveries} deliveries (${group.stats.redeliveries} redelivered), ${group.stats.resumes} resumes checked against acknowledged commits, ${group.stats.commits} acknowledged commits; final committed ${JSON.stringify([...committed])}`,
        '  checked: every acknowledged record stored once, in ack order, at its acked offset; offsets dense, none acked twice; hw = acked count;',
        '           manifest epochs chain at their seals and every batch carries the epoch owning its offsets; nothing served past a seal or differing from the final log;',
        '           no consumer skipped an offset or resumed below an acknowledged commit; no commit past an undelivered offset; final commits not below acknowledged ones; every record delivered',
        violations.length === 0 ? '  no violations' : `  ${violations.length} violations:\n    ${violations.slice(0, 40).join('\n    ')}`,
      ].join('\n'),
    );
    expect(violations).toEqual([]);
    expect(faults.length).toBeGreaterThanOrEqual(MIN_FAULTS);
    for (const a of acks) expect(a.length).toBeGreaterThan(0);
    expect(counters.recoveries).toBeGreaterThan(0);
    expect(group.stats.resumes).toBeGreaterThan(0);
  }
}
