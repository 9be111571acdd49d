// Produce and consume load generators. They run inside worker threads (load-worker.ts) so that
// several event loops drive the broker, but they are plain functions and also run in-thread.
import { KafkaConn } from './kafka-conn.js';
import { decodeFetch, encodeFetch, produceError, ProduceTemplate, randomPayload } from './requests.js';
import { epochNow, sleep } from './stats.js';

export interface ProduceJob {
  kind: 'produce';
  host: string;
  port: number;
  topic: string;
  /** Partitions this generator writes to, round robin. */
  partitions: number[];
  connections: number;
  /** Closed loop (ratePerSec = 0): requests kept in flight per connection. */
  depth: number;
  /** Open loop: requests per second from this generator, sent on schedule whatever the replies. */
  ratePerSec: number;
  batchRecords: number;
  recordBytes: number;
  acks: number;
  /**
   * Give every batch the current time (and recompute its CRC) before sending. Needed for
   * end-to-end latency; otherwise off so the client spends no CPU on checksums.
   */
  stampTime: boolean;
  /** Epoch ms. Load starts at startAt; figures count what falls in [measureFrom, measureTo). */
  startAt: number;
  measureFrom: number;
  measureTo: number;
}

export interface ProduceResult {
  requests: number;
  records: number;
  valueBytes: number;
  wireBytes: number;
  errors: number;
  firstError: string | null;
  /** Per request: reply time minus scheduled send time (open loop) or send time (closed loop), ms. */
  latencyMs: Float64Array;
  /** Per request: reply time minus the moment it was handed to the socket, ms. */
  serviceMs: Float64Array;
  /** Worst lateness of the pacing timer against the schedule, ms. */
  maxScheduleLagMs: number;
  /** Requests still unanswered when the generator gave up waiting. */
  unanswered: number;
}

export interface ConsumeAssignment {
  partition: number;
  from: number;
  /** Stop once this offset is reached. */
  to: number;
}

export interface ConsumeJob {
  kind: 'consume';
  host: string;
  port: number;
  topic: string;
  /** One list of partitions per connection. */
  assignments: ConsumeAssignment[][];
  maxBytes: number;
  partitionMaxBytes: number;
  startAt: number;
  /** Epoch ms after which no new Fetch is sent. */
  deadline: number;
}

export interface ConsumeResult {
  records: number;
  wireBytes: number;
  fetches: number;
  errors: number;
  firstError: string | null;
  startedAt: number;
  finishedAt: number;
  /** Whether every assignment reached its end offset before the deadline. */
  complete: boolean;
}

export type Job = ProduceJob | ConsumeJob;
export type JobResult = ProduceResult | ConsumeResult;

const DRAIN_TIMEOUT_MS = 30_000;

export async function runProduce(job: ProduceJob): Promise<ProduceResult> {
  const conns = await Promise.all(Array.from({ length: job.connections }, () => KafkaConn.open(job.host, job.port)));
  const payload = randomPayload(Math.max(4 * job.recordBytes, 256 * 1024));
  const templates = new Map<number, ProduceTemplate>();
  const free = new Map<number, Buffer[]>();
  for (const p of job.partitions) {
    templates.set(p, new ProduceTemplate(job.topic, p, job.batchRecords, job.recordBytes, job.acks, payload));
    free.set(p, []);
  }
  const latency: number[] = [];
  const service: number[] = [];
  const res: ProduceResult = {
    requests: 0, records: 0, valueBytes: 0, wireBytes: 0, errors: 0, firstError: null,
    latencyMs: new Float64Array(0), serviceMs: new Float64Array(0), maxScheduleLagMs: 0, unanswered: 0,
  };
  let correlation = 1;
  let nextPartition = 0;
  let nextConn = 0;
  let outstanding = 0;
  let onIdle: (() => void) | null = null;
  const paced = job.ratePerSec > 0;

  /** Sends one request; `origin` is the time latency is measured from. */
  const send = (conn: KafkaConn, origin: number, after: (() => void) | null): void => {
    const p = job.partitions[nextPartition++ % job.partitions.length]!;
    const tpl = templates.get(p)!;
    const buf = free.get(p)!.pop() ?? tpl.copy();
    const sentAt = epochNow();
    if (job.stampTime) tpl.stamp(buf, correlation++ & 0x7fffffff, sentAt);
    else tpl.setCorrelationId(buf, correlation++ & 0x7fffffff);
    outstanding++;
    conn.send(buf, (frame, err) => {
      const now = epochNow();
      outstanding--;
      free.get(p)!.push(buf);
      const inWindow = paced ? origin >= job.measureFrom && origin < job.measureTo : now >= job.measureFrom && now < job.measureTo;
      if (!frame) {
        res.errors++;
        res.firstError ??= err?.message ?? 'no response';
      } else if (inWindow) {
        const e = produceError(frame);
        if (e) {
          res.errors++;
          res.firstError ??= `error code ${e.code}: ${e.message ?? ''}`;
        } else {
          res.requests++;
          res.records += tpl.records;
          res.valueBytes += tpl.valueBytes;
          res.wireBytes += tpl.batchSize;
          latency.push(now - origin);
          service.push(now - sentAt);
        }
      }
      if (after && frame) after();
      if (outstanding === 0 && onIdle) onIdle();
    });
  };

  await sleep(job.startAt - epochNow());
  if (!paced) {
    for (const conn of conns) {
      const loop = (): void => {
        if (epochNow() < job.measureTo) send(conn, epochNow(), loop);
      };
      for (let i = 0; i < job.depth; i++) loop();
    }
  } else {
    const interval = 1000 / job.ratePerSec;
    let due = job.startAt;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = epochNow();
        while (due <= now && due < job.measureTo) {
          res.maxScheduleLagMs = Math.max(res.maxScheduleLagMs, now - due);
          send(conns[nextConn++ % conns.length]!, due, null);
          due += interval;
        }
        if (due >= job.measureTo) resolve();
        else setTimeout(tick, Math.max(0, due - epochNow()));
      };
      tick();
    });
  }
  await sleep(job.measureTo - epochNow());
  if (outstanding > 0) {
    await Promise.race([new Promise<void>((r) => (onIdle = r)), sleep(DRAIN_TIMEOUT_MS)]);
  }
  res.unanswered = outstanding;
  for (const c of conns) c.close();
  res.latencyMs = Float64Array.from(latency);
  res.serviceMs = Float64Array.from(service);
  return res;
}

export async function runConsume(job: ConsumeJob): Promise<ConsumeResult> {
  const res: ConsumeResult = { records: 0, wireBytes: 0, fetches: 0, errors: 0, firstError: null, startedAt: 0, finishedAt: 0, complete: true };
  const conns = await Promise.all(job.assignments.map(() => KafkaConn.open(job.host, job.port, { reuseLargeFrames: true })));
  await sleep(job.startAt - epochNow());
  res.startedAt = epochNow();
  let correlation = 1;
  await Promise.all(
    job.assignments.map(async (assigned, i) => {
      const conn = conns[i]!;
      const pos = new Map(assigned.filter((a) => a.from < a.to).map((a) => [a.partition, a.from]));
      const end = new Map(assigned.map((a) => [a.partition, a.to]));
      while (pos.size > 0) {
        if (epochNow() >= job.deadline) {
          res.complete = false;
          return;
        }
        const req = encodeFetch(correlation++, job.topic, [...pos].map(([partition, offset]) => ({ partition, offset })), {
          maxWaitMs: 500, minBytes: 1, maxBytes: job.maxBytes, partitionMaxBytes: job.partitionMaxBytes,
        });
        const fetched = decodeFetch(await conn.request(req));
        res.fetches++;
        for (const p of fetched.partitions) {
          if (p.errorCode !== 0) {
            res.errors++;
            res.firstError ??= `fetch partition ${p.partition}: error code ${p.errorCode}`;
            pos.delete(p.partition);
            res.complete = false;
            continue;
          }
          let at = pos.get(p.partition);
          if (at === undefined) continue;
          for (const b of p.batches) {
            if (b.nextOffset <= at) continue;
            res.records += b.records;
            res.wireBytes += b.size;
            at = b.nextOffset;
          }
          if (at >= end.get(p.partition)!) pos.delete(p.partition);
          else pos.set(p.partition, at);
        }
      }
    }),
  );
  res.finishedAt = epochNow();
  for (const c of conns) c.close();
  return res;
}

export function runJob(job: Job): Promise<JobResult> {
  return job.kind === 'produce' ? runProduce(job) : runConsume(job);
}
