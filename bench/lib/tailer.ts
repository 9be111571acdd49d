// A consumer that long-polls the head of every partition and records, for each batch, the time
// between the batch's producer timestamp and the moment its Fetch response arrived.
import { writeFileSync } from 'node:fs';
import { KafkaConn } from './kafka-conn.js';
import { decodeFetch, encodeFetch } from './requests.js';
import { epochNow } from './stats.js';

export interface TailOptions {
  host: string;
  port: number;
  topic: string;
  /** Start offsets, indexed by partition. */
  from: number[];
  /** Partitions to tail (default: every partition in `from`), in the order of the first Fetch. */
  partitions?: number[];
  /** Batches stamped in [measureFrom, measureTo) are sampled. Polling stops at stopAt. */
  measureFrom: number;
  measureTo: number;
  stopAt: number;
  /** Write one line per Fetch (sent, received, bytes, partitions with data, decode ms) here. */
  traceFile?: string;
}

export interface TailResult {
  e2eMs: Float64Array;
  batches: number;
  errors: number;
  firstError: string | null;
  /** Fetch round trips in the measured window and what they carried. */
  fetches: number;
  responseBytes: Float64Array;
  roundTripMs: Float64Array;
  /** Client time spent decoding responses over the whole tail (ms). */
  decodeMs: number;
}

export async function tail(opts: TailOptions): Promise<TailResult> {
  // FLOE_BENCH_TAIL_LEGACY=1: the tailer as it was before the 2026-11-27 fixes, for A/B runs.
  const legacy = process.env.FLOE_BENCH_TAIL_LEGACY === '1';
  const conn = await KafkaConn.open(opts.host, opts.port, legacy ? { keepChunks: true } : { reuseLargeFrames: true });
  const offsets = [...opts.from];
  const samples: number[] = [];
  const sizes: number[] = [];
  const trips: number[] = [];
  const trace: string[] = [];
  const res: TailResult = {
    e2eMs: new Float64Array(0), batches: 0, errors: 0, firstError: null,
    fetches: 0, responseBytes: new Float64Array(0), roundTripMs: new Float64Array(0), decodeMs: 0,
  };
  const order = opts.partitions ?? offsets.map((_, p) => p);
  let correlation = 1;
  let turn = 0;
  try {
    while (epochNow() < opts.stopAt) {
      // Start each Fetch at the next partition, as Kafka consumers do: the broker fills the
      // response in request order, so a fixed order starves the last partitions when behind.
      const positions = order.map((_, i) => {
        const partition = order[(i + turn) % order.length]!;
        return { partition, offset: offsets[partition]! };
      });
      if (!legacy) turn++;
      const req = encodeFetch(correlation++, opts.topic, positions, {
        maxWaitMs: 500, minBytes: 1, maxBytes: 64 * 1024 * 1024, partitionMaxBytes: 16 * 1024 * 1024,
      });
      const sent = epochNow();
      const frame = await conn.request(req);
      const now = epochNow();
      const fetched = decodeFetch(frame);
      let withData = 0;
      let oldest = Number.POSITIVE_INFINITY;
      for (const p of fetched.partitions) {
        if (p.errorCode !== 0) {
          res.errors++;
          res.firstError ??= `partition ${p.partition}: error code ${p.errorCode}`;
          continue;
        }
        if (p.batches.length > 0) withData++;
        for (const b of p.batches) {
          if (b.nextOffset <= offsets[p.partition]!) continue;
          offsets[p.partition] = b.nextOffset;
          res.batches++;
          oldest = Math.min(oldest, b.maxTimestamp);
          // Timestamps are whole milliseconds, so each sample carries up to 1 ms of rounding.
          if (b.maxTimestamp >= opts.measureFrom && b.maxTimestamp < opts.measureTo) samples.push(now - b.maxTimestamp);
        }
      }
      const decoded = epochNow();
      res.decodeMs += decoded - now;
      if (now >= opts.measureFrom && now < opts.measureTo) {
        res.fetches++;
        sizes.push(frame.length);
        trips.push(now - sent);
      }
      if (opts.traceFile !== undefined) {
        trace.push(`${sent.toFixed(2)} ${(now - sent).toFixed(2)} ${frame.length} ${withData} ${(decoded - now).toFixed(2)} ${Number.isFinite(oldest) ? (now - oldest).toFixed(1) : '-'}`);
      }
    }
  } finally {
    conn.close();
  }
  if (opts.traceFile !== undefined) writeFileSync(opts.traceFile, `# sentAt rttMs bytes partitionsWithData decodeMs oldestBatchAgeMs\n${trace.join('\n')}\n`);
  res.e2eMs = Float64Array.from(samples);
  res.responseBytes = Float64Array.from(sizes);
  res.roundTripMs = Float64Array.from(trips);
  return res;
}
