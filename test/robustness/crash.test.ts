// Crash test: an idempotent acks=all producer at full speed while the broker is SIGKILLed and
// restarted on the same data dir; afterwards every acknowledged record must be there exactly once,
// in order, at the offset its acknowledgement named.
import { afterAll, describe, expect, it } from 'vitest';
import { InitProducerId } from '../../broker/client/apis.js';
import { errorName, isRetriable } from '../../broker/client/errors.js';
import { Compression } from '../../broker/protocol/records/batch-header.js';
import { encodeBatch } from '../../broker/protocol/records/records.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { type Ack, checkPartition, type StoredRecord, valueOf } from './crash-check.js';
import { connect, createTopic, fetchAll, produce, ReconnectingConnection, request, sleep } from './wire.js';

const TOPIC = 'crash-test';
const PARTITIONS = 4;
const KILLS = 5;
/** Batches in flight per partition (Kafka allows up to 5 with idempotence). */
const WINDOW = 3;
const MAX_RECORDS_PER_BATCH = 40;
const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
/** Production stops at this point even if the kills are slow, to keep the test bounded. */
const PRODUCE_BUDGET_MS = 45_000;

// Seeded so a failure can be replayed (FLOE_CRASH_SEED=<n>).
const SEED = Number(process.env.FLOE_CRASH_SEED ?? Date.now() % 1_000_000);
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
  sends: number;
}

interface PartitionStats {
  acks: Ack[];
  batches: number;
  resends: number;
  recoveries: number;
  lastOutcome: string;
}

type Outcome = { kind: 'ok'; baseOffset: number } | { kind: 'retry'; why: string } | { kind: 'fatal'; why: string };

describe('crash: SIGKILL during idempotent acks=all production', () => {
  let broker: BrokerHandle | undefined;
  afterAll(async () => {
    await broker?.stop();
  });

  it(`loses and duplicates no acknowledged record across ${KILLS} kills`, { timeout: 90_000 }, async () => {
    broker = await startBroker({ args: ['--num-partitions', '1'] });
    const b = broker;
    const setup = await connect(b.kafkaPort);
    await createTopic(setup, TOPIC, PARTITIONS);
    const init = await request(setup, InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
    setup.close();
    expect(init.errorCode).toBe(0);
    const producerId = init.producerId;
    const producerEpoch = init.producerEpoch;

    const pool = new ReconnectingConnection(b.kafkaPort);
    const stats: PartitionStats[] = Array.from({ length: PARTITIONS }, () => ({ acks: [], batches: 0, resends: 0, recoveries: 0, lastOutcome: '' }));
    const violations: string[] = [];
    let stopping = false;
    const started = Date.now();

    const send = async (p: number, batch: SentBatch): Promise<Outcome> => {
      batch.sends++;
      try {
        const conn = await pool.get();
        const r = await produce(conn, TOPIC, p, batch.bytes);
        if (r.errorCode === 0) return { kind: 'ok', baseOffset: r.baseOffset };
        const why = `${errorName(r.errorCode)}: ${r.errorMessage ?? ''}`;
        return isRetriable(r.errorCode) ? { kind: 'retry', why } : { kind: 'fatal', why };
      } catch (e) {
        return { kind: 'retry', why: (e as Error).message };
      }
    };

    const ack = (p: number, batch: SentBatch, baseOffset: number) => {
      for (let i = 0; i < batch.count; i++) stats[p]!.acks.push({ seq: batch.baseSequence + i, offset: baseOffset + i });
    };

    const partitionLoop = async (p: number): Promise<void> => {
      let nextSeq = 0;
      const unacked: SentBatch[] = [];
      const inflight: Promise<Outcome>[] = [];
      const newBatch = async (): Promise<SentBatch> => {
        const count = randInt(1, MAX_RECORDS_PER_BATCH);
        const baseSequence = nextSeq;
        nextSeq += count;
        const records = Array.from({ length: count }, (_, i) => ({ key: `k${(baseSequence + i) % 13}`, value: valueOf(p, baseSequence + i) }));
        const bytes = await encodeBatch({ records, producerId, producerEpoch, baseSequence, compression: CODECS[randInt(0, CODECS.length - 1)] });
        stats[p]!.batches++;
        return { baseSequence, count, bytes, sends: 0 };
      };
      for (;;) {
        while (!stopping && inflight.length < WINDOW) {
          const batch = await newBatch();
          unacked.push(batch);
          inflight.push(send(p, batch));
        }
        if (unacked.length === 0) return;
        const head = unacked[0]!;
        const out = await inflight.shift()!;
        stats[p]!.lastOutcome = out.kind === 'ok' ? 'ok' : out.why;
        if (out.kind === 'ok') {
          ack(p, head, out.baseOffset);
          unacked.shift();
          continue;
        }
        if (out.kind === 'fatal') {
          // Everything before the head is acknowledged, so the broker has no reason to refuse it.
          violations.push(`partition ${p}: batch seq ${head.baseSequence} (+${head.count}) refused: ${out.why}`);
          return;
        }
        // Retriable: let the rest of the window settle, then resend every unacknowledged batch
        // in order, one at a time, with the same producer id, epoch and sequence.
        stats[p]!.recoveries++;
        await Promise.all(inflight.splice(0));
        while (unacked.length > 0) {
          const batch = unacked[0]!;
          stats[p]!.resends++;
          const r = await send(p, batch);
          stats[p]!.lastOutcome = r.kind === 'ok' ? 'ok' : r.why;
          if (r.kind === 'ok') {
            ack(p, batch, r.baseOffset);
            unacked.shift();
          } else if (r.kind === 'fatal') {
            violations.push(`partition ${p}: resend of batch seq ${batch.baseSequence} (+${batch.count}, send #${batch.sends}) refused: ${r.why}`);
            return;
          } else {
            if (Date.now() - started > PRODUCE_BUDGET_MS + 20_000) {
              violations.push(`partition ${p}: batch seq ${batch.baseSequence} never acknowledged; last error: ${r.why}`);
              return;
            }
            await sleep(20);
          }
        }
      }
    };

    const loops = Array.from({ length: PARTITIONS }, (_, p) => partitionLoop(p));

    const killTimes: number[] = [];
    for (let k = 0; k < KILLS && Date.now() - started < PRODUCE_BUDGET_MS; k++) {
      await sleep(randInt(300, 2_500));
      killTimes.push(Date.now() - started);
      await b.kill();
      await sleep(randInt(0, 300));
      await b.restart();
    }
    await sleep(500);
    stopping = true;
    await Promise.all(loops);
    pool.close();

    // One more crash with everything acknowledged: acked data must already be durable.
    await b.kill();
    await b.restart();

    const reader = await connect(b.kafkaPort, 'floe-crash-reader');
    const report: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const s = stats[p]!;
      const { highWatermark, batches } = await fetchAll(reader, TOPIC, p);
      const stored: StoredRecord[] = batches.flatMap((batch) =>
        batch.records.map((r, i) => ({ offset: r.offset, value: r.value, producerId: batch.header.producerId, batchSeq: batch.header.baseSequence + i })),
      );
      violations.push(...checkPartition(p, producerId, s.acks, stored, highWatermark));
      report.push(
        `  p${p}: acked ${s.acks.length} records in ${s.batches} batches, stored ${stored.length}, hw ${highWatermark}, ` +
          `recoveries ${s.recoveries}, resends ${s.resends}`,
      );
    }
    reader.close();
    const total = stats.reduce((n, s) => n + s.acks.length, 0);
    console.log(
      [
        `crash test (seed ${SEED}): ${killTimes.length} SIGKILLs at ${killTimes.map((t) => `${(t / 1000).toFixed(1)}s`).join(', ')} + 1 after drain; ` +
          `${pool.reconnects} producer reconnects; ${total} records acknowledged in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ...report,
        violations.length === 0 ? '  no violations' : `  ${violations.length} violations:\n    ${violations.slice(0, 30).join('\n    ')}`,
      ].join('\n'),
    );
    expect(killTimes.length).toBe(KILLS);
    expect(violations).toEqual([]);
    // A run that acknowledged almost nothing proves nothing.
    for (const s of stats) expect(s.acks.length).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.recoveries, 0)).toBeGreaterThan(0);
  });
});
