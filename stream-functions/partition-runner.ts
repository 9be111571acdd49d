// The per-partition loop of a function instance: fetch in offset order, dispatch batches (and
// records one by one after a batch fails), dead-letter, commit. One runner per assigned partition.
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode as E } from '../broker/protocol/generated/error-codes.js';
import { decodeBatches } from '../broker/protocol/records/records.js';
import { retry, RetryGaveUpError, type RetryOptions } from '../broker/util/retry.js';
import type { PartitionAccess, PartitionView } from './partition-access.js';
import { dlqTopicOf, type VersionSpec } from './spec.js';
import type { PartitionStats } from './stats.js';
import type { Effects, ProbeResult, WireRecord } from './worker-protocol.js';

/** What a runner needs from its function instance (FunctionInstance provides it). */
export interface PartitionRunnerHost {
  readonly name: string;
  readonly spec: VersionSpec;
  readonly probe: ProbeResult | null;
  readonly host: { readonly partitions: PartitionAccess };
  runtimeLog(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** The group's committed offset (-1 when none). */
  committed(topic: string, partition: number): Promise<number>;
  /** Commits an offset; resolves to the Kafka error code (0 = done). */
  commit(topic: string, partition: number, offset: number): Promise<number>;
  runBatch(records: WireRecord[]): Promise<Effects>;
  applyTables(effects: Effects): Promise<void>;
  emit(effects: Effects): Promise<void>;
  deadLetter(r: WireRecord, err: Error, attempts: number): Promise<void>;
}

const READ_BYTES = 1024 * 1024;
/** How long a transient output failure (leader moving) is retried before the batch is redone. */
const OUTPUT_RETRY_MS = 60_000;

/** The runner was stopped while waiting: the batch is left to the partition's next owner. */
class StoppedError extends Error {}

const PERMANENT_APPEND = new Set<string | number>(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'CORRUPT_MESSAGE', 'INVALID_RECORD', E.MESSAGE_TOO_LARGE, E.RECORD_LIST_TOO_LARGE, E.CORRUPT_MESSAGE, E.INVALID_RECORD]);

/** Output errors that retrying cannot fix (the record itself is at fault). */
function isPermanentAppendError(err: unknown): boolean {
  const e = err as { code?: unknown; errorCode?: unknown };
  return PERMANENT_APPEND.has(e.code as string) || PERMANENT_APPEND.has(e.errorCode as number);
}

/** Reads one partition in order, runs batches with retries, dead-letters, commits. */
export class PartitionRunner {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private view: PartitionView | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Last high watermark seen (for status; the partition may be led elsewhere). */
  highWatermark = 0;

  constructor(
    private readonly fn: PartitionRunnerHost,
    private readonly tp: { readonly topic: string; readonly partition: number },
    private readonly stats: PartitionStats,
  ) {}

  start(): void {
    this.loop = this.supervise();
  }

  // A failing log read or DLQ write must not end the loop for good: resume from the last commit.
  private async supervise(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.run();
      } catch (err) {
        if (err instanceof StoppedError) break;
        this.dropView();
        this.stats.recordError(err as Error);
        this.fn.runtimeLog('error', `partition ${this.tp.topic}/${this.tp.partition}: ${(err as Error).message}; resuming from the last commit`);
        await this.idle(1_000);
      }
    }
    this.dropView();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** Waits for new data (or the timeout); true when woken by the partition advancing. */
  private idle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => done(false), ms);
      const done = (woken: boolean): void => {
        clearTimeout(t);
        this.wake = null;
        resolve(woken);
      };
      this.wake = () => done(true);
    });
  }

  // The view is looked up again after errors and quiet periods, so a leader change is followed.
  private async currentView(): Promise<PartitionView | null> {
    if (this.view) return this.view;
    const v = await this.fn.host.partitions.view(this.tp.topic, this.tp.partition);
    if (!v) return null;
    this.view = v;
    this.unsubscribe = v.onAdvance(() => this.wake?.());
    return v;
  }

  private dropView(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.view = null;
  }

  private async startPosition(): Promise<number> {
    const { topic, partition } = this.tp;
    const committed = await this.fn.committed(topic, partition);
    if (committed >= 0) return committed;
    const view = await this.currentView();
    if (!view) throw new Error(`partition ${topic}/${partition} is not readable here`);
    const start = view.logStartOffset ?? 0;
    const f = this.fn.spec.fromOffset;
    let pos: number;
    switch (f.kind) {
      case 'earliest':
        pos = start;
        break;
      case 'latest':
        pos = view.highWatermark;
        break;
      case 'offset':
        pos = Math.min(Math.max(f.offset, start), view.highWatermark);
        break;
      case 'timestamp':
        pos = (await this.fn.host.partitions.offsetForTimestamp(topic, partition, f.ms)) ?? view.highWatermark;
        break;
    }
    // Pin the start so a restart before the first batch does not re-resolve "latest".
    const code = await this.fn.commit(topic, partition, pos);
    if (code !== 0) throw new Error(`cannot pin the start offset of ${topic}/${partition}: error ${code}`);
    return pos;
  }

  private async run(): Promise<void> {
    const { topic, partition } = this.tp;
    let pos = await this.startPosition();
    this.stats.position = pos;
    const hints = this.fn.probe?.batch ?? null;
    const max = Math.max(1, Math.min(this.fn.spec.limits.maxBatchRecords, hints?.maxRecords ?? Infinity));
    const linger = hints?.lingerMs ?? 0;
    let lingered = false;
    while (!this.stopped) {
      const view = await this.currentView();
      if (!view) {
        await this.idle(1_000);
        continue;
      }
      const hw = view.highWatermark;
      this.highWatermark = hw;
      if (view.logStartOffset !== undefined && pos < view.logStartOffset) pos = view.logStartOffset;
      let records: WireRecord[] = [];
      if (pos < hw) {
        const data = await view.read(pos, READ_BYTES, { minOneBatch: true });
        let next = pos;
        for (const b of await decodeBatches(data, { verifyCrc: false })) {
          next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
          if (b.isControl) continue;
          for (const r of b.records) {
            if (r.offset < pos || r.offset >= hw || records.length >= max) continue;
            records.push({ topic, partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
          }
        }
        if (records.length === 0 && next > pos) {
          // Only control records or compacted gaps: move past them.
          pos = Math.min(next, hw);
          await this.commitAt(pos);
          continue;
        }
      }
      if (records.length === 0) {
        if (!(await this.idle(1_000))) this.dropView();
        continue;
      }
      if (records.length < max && linger > 0 && !lingered) {
        // Time-based batching: give a small batch one chance to fill up.
        lingered = true;
        await sleep(linger);
        continue;
      }
      lingered = false;
      const started = Date.now();
      const ok = await this.process(records);
      if (!ok) return; // stopped mid-retry: the batch is redone by whoever owns it next
      const last = records[records.length - 1]!;
      this.stats.recordBatch(records.length, Date.now() - started, last.timestamp);
      pos = last.offset + 1;
      await this.commitAt(pos);
    }
  }

  private async commitAt(pos: number): Promise<void> {
    this.stats.position = pos;
    const code = await this.fn.commit(this.tp.topic, this.tp.partition, pos);
    if (code !== 0) this.fn.runtimeLog('warn', `offset commit for ${this.tp.topic}/${this.tp.partition} failed with error ${code}; records may be processed again`);
  }

  /**
   * Outputs must become durable before the input offset is committed; a leader moving makes an
   * append fail for a while, which is waited out here rather than blamed on the record.
   */
  private async durably(what: string, write: () => Promise<void>): Promise<void> {
    await this.retrying(write, {
      deadlineMs: OUTPUT_RETRY_MS,
      initialMs: 100,
      maxMs: 2_000,
      retriable: (err) => !isPermanentAppendError(err),
      onRetry: (err, attempt) => {
        if ((attempt - 1) % 10 === 0) this.fn.runtimeLog('warn', `${what} failed, retrying: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition });
      },
    });
  }

  /**
   * retry() that stops before each attempt once the runner is stopped (StoppedError) and, on
   * giving up, throws the last failure itself: callers log and dead-letter that error.
   */
  private async retrying<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
    const attempt = (n: number): Promise<T> => {
      if (this.stopped) throw new StoppedError('stopped');
      return fn(n);
    };
    try {
      return await retry(attempt, { jitter: 0, ...o, retriable: (err) => !(err instanceof StoppedError) && (o.retriable?.(err) ?? true) });
    } catch (err) {
      throw err instanceof RetryGaveUpError ? err.last : err;
    }
  }

  /** True when every record was processed or dead-lettered; false when stopped first. */
  private async process(records: WireRecord[]): Promise<boolean> {
    if (records.length > 1) {
      let effects: Effects | null = null;
      try {
        effects = await this.fn.runBatch(records);
        await this.fn.applyTables(effects);
      } catch (err) {
        effects = null;
        this.stats.recordError(err as Error);
        this.fn.runtimeLog('warn', `batch of ${records.length} failed, retrying record by record: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition, from: records[0]!.offset });
      }
      if (effects) {
        const done = effects;
        try {
          await this.durably('writing outputs', () => this.fn.emit(done));
          return true;
        } catch (err) {
          if (err instanceof StoppedError) return false;
          this.stats.recordError(err as Error);
          this.fn.runtimeLog('warn', `outputs of a batch of ${records.length} failed, retrying record by record: ${(err as Error).message}`, { topic: this.tp.topic, partition: this.tp.partition });
        }
      }
    }
    for (const r of records) if (!(await this.processOne(r))) return false;
    return true;
  }

  private async processOne(r: WireRecord): Promise<boolean> {
    const l = this.fn.spec.limits;
    let lastErr: Error;
    try {
      await this.retrying(
        async (attempt) => {
          try {
            const effects = await this.fn.runBatch([r]);
            await this.fn.applyTables(effects);
            await this.durably('writing outputs', () => this.fn.emit(effects));
          } catch (err) {
            if (!(err instanceof StoppedError)) {
              this.stats.recordError(err as Error);
              this.fn.runtimeLog('warn', `record ${r.topic}/${r.partition}@${r.offset} failed (attempt ${attempt}/${l.maxAttempts}): ${(err as Error).message}`);
            }
            throw err;
          }
        },
        // No ceiling: the spec's backoffMs doubles per attempt as configured.
        { attempts: l.maxAttempts, initialMs: l.backoffMs, maxMs: Infinity },
      );
      return true;
    } catch (err) {
      if (err instanceof StoppedError) return false;
      lastErr = err as Error;
    }
    try {
      await this.durably('dead-lettering', () => this.fn.deadLetter(r, lastErr, l.maxAttempts));
    } catch (err) {
      if (err instanceof StoppedError) return false;
      throw err;
    }
    this.stats.deadLettered++;
    this.fn.runtimeLog('error', `record ${r.topic}/${r.partition}@${r.offset} sent to ${dlqTopicOf(this.fn.name)} after ${l.maxAttempts} attempts: ${lastErr.message}`);
    return true;
  }
}
