// Batching producer for one topic. Records are grouped per partition into v2 batches; each
// partition has at most one batch in flight, so idempotent sequence numbers stay in order
// across retries, while batches for several partitions share one pipelined request per leader.
import { Compression } from '../protocol/records/batch-header.js';
import { encodeBatch, type BatchInputRecord } from '../protocol/records/records.js';
import { backoffDelay, type Backoff } from '../util/retry.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { InitProducerId, Produce } from './apis.js';
import { check, KafkaError, UNKNOWN_SERVER_ERROR, UsageError } from './errors.js';
import type { KafkaClient, TopicInfo } from './kafka-client.js';
import { partitionForKey } from './partitioner.js';

export interface ProducerRecord {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: Array<{ key: string; value: Buffer | null }>;
  /** Default: by key hash, or sticky round-robin for keyless records. */
  partition?: number;
  /** Default: now. */
  timestamp?: number;
}

export interface ProduceResult {
  partition: number;
  /** -1 when the broker does not say (acks=0, or a duplicate the broker had already stored). */
  offset: number;
}

export interface ProducerOptions {
  topic: string;
  acks: -1 | 0 | 1;
  compression: Compression;
  /** Idempotence needs acks=-1; it is ignored otherwise. */
  idempotent: boolean;
  batchBytes?: number;
  batchRecords?: number;
  lingerMs?: number;
  retries?: number;
  requestTimeoutMs?: number;
  /** Backpressure: waitForCapacity() blocks while more than this many bytes are buffered. */
  maxBufferedBytes?: number;
}

interface PendingRecord {
  input: BatchInputRecord;
  bytes: number;
  resolve(r: ProduceResult): void;
  reject(e: Error): void;
}

interface Batch {
  partition: number;
  records: PendingRecord[];
  bytes: number;
  encoded: Buffer | null;
  attempts: number;
}

interface PartitionState {
  open: Batch | null;
  queue: Batch[];
  inFlight: boolean;
  nextSequence: number;
  retryAt: number;
}

/** Delay before a batch is resent; the timer in drain() keeps other partitions moving meanwhile. */
const RETRY_BACKOFF: Backoff = { initialMs: 100, maxMs: 2_000 };

function recordBytes(r: ProducerRecord): number {
  let n = 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers ?? []) n += 8 + h.key.length + (h.value?.length ?? 0);
  return n;
}

export class Producer {
  private readonly parts = new Map<number, PartitionState>();
  private producerId = -1;
  private producerEpoch = -1;
  private sticky = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private buffered = 0;
  private unresolved = 0;
  private fatal: Error | null = null;
  private waiters: Array<() => void> = [];
  private metadataRefresh: Promise<void> | null = null;
  private readonly o: Required<ProducerOptions>;

  private constructor(
    private readonly client: KafkaClient,
    private topic: TopicInfo,
    opts: ProducerOptions,
  ) {
    this.o = {
      batchBytes: 512 * 1024,
      batchRecords: 10_000,
      lingerMs: 5,
      retries: 8,
      requestTimeoutMs: 30_000,
      maxBufferedBytes: 32 * 1024 * 1024,
      ...opts,
      idempotent: opts.idempotent && opts.acks === -1,
    };
    this.sticky = Math.floor(Math.random() * Math.max(1, topic.partitions.length));
  }

  static async create(client: KafkaClient, opts: ProducerOptions): Promise<Producer> {
    const topic = await client.topic(opts.topic);
    if (topic.partitions.length === 0) throw new UsageError(`topic "${opts.topic}" has no partitions`);
    const p = new Producer(client, topic, opts);
    if (p.o.idempotent) await p.initProducerId();
    return p;
  }

  get partitionCount(): number {
    return this.topic.partitions.length;
  }

  get idempotent(): boolean {
    return this.o.idempotent;
  }

  private async initProducerId(): Promise<void> {
    const node = await this.client.controller();
    if (!node.supports(InitProducerId)) {
      this.o.idempotent = false;
      return;
    }
    const res = await node.send(InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    check(res.errorCode, null, 'InitProducerId');
    this.producerId = res.producerId;
    this.producerEpoch = res.producerEpoch;
  }

  /** Queues a record; resolves once the broker acknowledged it. */
  send(rec: ProducerRecord): Promise<ProduceResult> {
    if (this.fatal) return Promise.reject(this.fatal);
    const partition = this.choosePartition(rec);
    const state = this.state(partition);
    const bytes = recordBytes(rec);
    if (state.open && (state.open.bytes + bytes > this.o.batchBytes || state.open.records.length >= this.o.batchRecords)) {
      this.closeBatch(state);
    }
    state.open ??= { partition, records: [], bytes: 0, encoded: null, attempts: 0 };
    const promise = new Promise<ProduceResult>((resolve, reject) => {
      state.open!.records.push({
        input: { key: rec.key ?? null, value: rec.value, headers: rec.headers ?? [], timestamp: rec.timestamp ?? Date.now() },
        bytes,
        resolve,
        reject,
      });
    });
    // Callers may await results later, in order; a failure must not count as unhandled meanwhile.
    promise.catch(() => undefined);
    state.open.bytes += bytes;
    this.buffered += bytes;
    this.unresolved++;
    if (state.open.bytes >= this.o.batchBytes || state.open.records.length >= this.o.batchRecords) {
      this.closeBatch(state);
      this.drain();
    } else {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = null;
        this.closeAll();
        this.drain();
      }, this.o.lingerMs);
    }
    return promise;
  }

  /** Resolves when the buffered bytes are under the limit (or the producer failed). */
  async waitForCapacity(): Promise<void> {
    while (this.buffered > this.o.maxBufferedBytes && !this.fatal) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Sends everything buffered and waits until every record is acknowledged or failed. */
  async flush(): Promise<void> {
    this.closeAll();
    this.drain();
    while (this.unresolved > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.fatal) throw this.fatal;
  }

  private choosePartition(rec: ProducerRecord): number {
    const n = this.topic.partitions.length;
    if (rec.partition !== undefined) {
      if (!Number.isInteger(rec.partition) || rec.partition < 0 || rec.partition >= n) {
        throw new UsageError(`partition ${rec.partition} does not exist: topic "${this.topic.name}" has ${n} partition(s)`);
      }
      return rec.partition;
    }
    if (rec.key) return partitionForKey(rec.key, n);
    return this.sticky;
  }

  private state(partition: number): PartitionState {
    let s = this.parts.get(partition);
    if (!s) {
      s = { open: null, queue: [], inFlight: false, nextSequence: 0, retryAt: 0 };
      this.parts.set(partition, s);
    }
    return s;
  }

  private closeBatch(state: PartitionState): void {
    if (!state.open || state.open.records.length === 0) return;
    state.queue.push(state.open);
    if (state.open.partition === this.sticky) this.sticky = (this.sticky + 1) % this.topic.partitions.length;
    state.open = null;
  }

  private closeAll(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    for (const s of this.parts.values()) this.closeBatch(s);
  }

  private leaderOf(partition: number): number {
    return this.topic.partitions.find((p) => p.partition === partition)?.leaderId ?? -1;
  }

  /** Sends the head batch of every idle partition, one request per leader. */
  private drain(): void {
    if (this.fatal) return;
    const now = Date.now();
    const byLeader = new Map<number, Batch[]>();
    for (const s of this.parts.values()) {
      if (s.inFlight || s.queue.length === 0) continue;
      if (s.retryAt > now) {
        setTimeout(() => this.drain(), s.retryAt - now);
        continue;
      }
      const batch = s.queue.shift()!;
      s.inFlight = true;
      const leader = this.leaderOf(batch.partition);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), batch]);
    }
    for (const [leader, batches] of byLeader) {
      this.sendBatches(leader, batches).catch((err: Error) => this.failAll(err));
    }
  }

  private async encode(batch: Batch): Promise<Buffer> {
    if (batch.encoded) return batch.encoded;
    const s = this.state(batch.partition);
    // The sequence is fixed at first encoding so a retry resends the same (pid, seq) bytes.
    const baseSequence = this.o.idempotent ? s.nextSequence : -1;
    if (this.o.idempotent) s.nextSequence = (s.nextSequence + batch.records.length) % 0x80000000;
    batch.encoded = await encodeBatch({
      records: batch.records.map((r) => r.input),
      compression: this.o.compression,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence,
    });
    return batch.encoded;
  }

  private async sendBatches(leader: number, batches: Batch[]): Promise<void> {
    const encoded = await Promise.all(batches.map((b) => this.encode(b)));
    let node;
    try {
      node = await this.client.node(leader);
    } catch (err) {
      for (const b of batches) this.retry(b, err as Error);
      return;
    }
    const body = {
      transactionalId: null,
      acks: this.o.acks,
      timeoutMs: this.o.requestTimeoutMs,
      topicData: [{ name: this.topic.name, partitionData: batches.map((b, i) => ({ index: b.partition, records: encoded[i]! })) }],
    };
    if (this.o.acks === 0) {
      try {
        await node.send(Produce, body, { expectResponse: false });
      } catch (err) {
        for (const b of batches) this.fail(b, err as Error);
        return;
      }
      for (const b of batches) this.succeed(b, -1);
      return;
    }
    let res;
    try {
      res = await node.send(Produce, body, { timeoutMs: this.o.requestTimeoutMs + 5_000 });
    } catch (err) {
      for (const b of batches) this.retry(b, err as Error);
      return;
    }
    const answers = new Map<number, { errorCode: number; baseOffset: number; errorMessage: string | null }>();
    for (const t of res.responses) for (const p of t.partitionResponses) answers.set(p.index, p);
    for (const b of batches) {
      const a = answers.get(b.partition);
      if (!a) this.fail(b, new KafkaError(UNKNOWN_SERVER_ERROR, 'no response for partition', `produce ${this.topic.name}/${b.partition}`));
      else if (a.errorCode === ErrorCode.NONE) this.succeed(b, a.baseOffset);
      else if (a.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) this.succeed(b, -1);
      else {
        const err = new KafkaError(a.errorCode, a.errorMessage, `produce ${this.topic.name}/${b.partition}`);
        if (err.retriable) this.retry(b, err);
        else this.fail(b, err);
      }
    }
  }

  private settle(b: Batch): void {
    const s = this.state(b.partition);
    s.inFlight = false;
    for (const r of b.records) this.buffered -= r.bytes;
    this.unresolved -= b.records.length;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
    this.drain();
  }

  private succeed(b: Batch, baseOffset: number): void {
    b.records.forEach((r, i) => r.resolve({ partition: b.partition, offset: baseOffset < 0 ? -1 : baseOffset + i }));
    this.settle(b);
  }

  private fail(b: Batch, err: Error): void {
    for (const r of b.records) r.reject(err);
    // With idempotence a lost batch leaves a sequence gap, so later batches cannot succeed.
    this.fatal ??= err;
    this.settle(b);
    this.failAll(err);
  }

  private retry(b: Batch, err: Error): void {
    const s = this.state(b.partition);
    b.attempts++;
    if (b.attempts > this.o.retries) {
      this.fail(b, err);
      return;
    }
    s.inFlight = false;
    s.queue.unshift(b);
    s.retryAt = Date.now() + backoffDelay(b.attempts, RETRY_BACKOFF);
    this.refreshMetadata().finally(() => this.drain());
  }

  private refreshMetadata(): Promise<void> {
    this.metadataRefresh ??= this.client
      .topic(this.topic.name)
      .then((t) => {
        if (t.partitions.length >= this.topic.partitions.length) this.topic = t;
      })
      .catch(() => undefined)
      .finally(() => {
        this.metadataRefresh = null;
      });
    return this.metadataRefresh;
  }

  private failAll(err: Error): void {
    this.fatal ??= err;
    for (const s of this.parts.values()) {
      const pending = [...s.queue, ...(s.open ? [s.open] : [])];
      s.queue = [];
      s.open = null;
      for (const b of pending) {
        for (const r of b.records) {
          r.reject(this.fatal);
          this.buffered -= r.bytes;
        }
        this.unresolved -= b.records.length;
      }
    }
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
