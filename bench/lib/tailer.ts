// A consumer that long-polls the head of every partition and records, for each batch, the time
// between the batch's producer timestamp and the moment its Fetch response arrived.
import { KafkaConn } from './kafka-conn.js';
import { decodeFetch, encodeFetch } from './requests.js';
import { epochNow } from './stats.js';

export interface TailOptions {
  host: string;
  port: number;
  topic: string;
  /** Start offsets, indexed by partition. */
  from: number[];
  /** Batches stamped in [measureFrom, measureTo) are sampled. Polling stops at stopAt. */
  measureFrom: number;
  measureTo: number;
  stopAt: number;
}

export interface TailResult {
  e2eMs: Float64Array;
  batches: number;
  errors: number;
  firstError: string | null;
}

export async function tail(opts: TailOptions): Promise<TailResult> {
  const conn = await KafkaConn.open(opts.host, opts.port);
  const offsets = [...opts.from];
  const samples: number[] = [];
  const res: TailResult = { e2eMs: new Float64Array(0), batches: 0, errors: 0, firstError: null };
  let correlation = 1;
  try {
    while (epochNow() < opts.stopAt) {
      const req = encodeFetch(correlation++, opts.topic, offsets.map((offset, partition) => ({ partition, offset })), {
        maxWaitMs: 500, minBytes: 1, maxBytes: 64 * 1024 * 1024, partitionMaxBytes: 16 * 1024 * 1024,
      });
      const frame = await conn.request(req);
      const now = epochNow();
      const fetched = decodeFetch(frame);
      for (const p of fetched.partitions) {
        if (p.errorCode !== 0) {
          res.errors++;
          res.firstError ??= `partition ${p.partition}: error code ${p.errorCode}`;
          continue;
        }
        for (const b of p.batches) {
          if (b.nextOffset <= offsets[p.partition]!) continue;
          offsets[p.partition] = b.nextOffset;
          res.batches++;
          // Timestamps are whole milliseconds, so each sample carries up to 1 ms of rounding.
          if (b.maxTimestamp >= opts.measureFrom && b.maxTimestamp < opts.measureTo) samples.push(now - b.maxTimestamp);
        }
      }
    }
  } finally {
    conn.close();
  }
  res.e2eMs = Float64Array.from(samples);
  return res;
}
