// An in-node consumer of one topic: reads every partition straight from the log, hands records to
// a handler, then commits the next offset in the group coordinator so a restart resumes there.
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import { TopicError } from '../broker/core/topics.js';
import { LogError } from '../broker/log/index.js';
import { ErrorCode } from '../broker/protocol/generated/error-codes.js';
import { decodeBatches, encodeBatch, type BatchInputRecord, type RecordHeader } from '../broker/protocol/records/records.js';

export interface BridgeRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface TopicBridgeOptions {
  topic: string;
  groupId: string;
  /** Must not throw for bad records (report them instead); a throw is retried after a pause. */
  handle(records: BridgeRecord[]): Promise<void>;
  log?: Logger;
  maxBytes?: number;
  /** Pause after a failed handle() before trying the same records again (default 1 s). */
  retryMs?: number;
}

const IDLE_RECHECK_MS = 1_000;

export function headerValue(headers: RecordHeader[], name: string): string | undefined {
  for (const h of headers) if (h.key === name) return h.value === null ? undefined : h.value.toString('utf8');
  return undefined;
}

/** Appends records to one partition of a topic, creating the topic (one partition) if missing. */
export async function appendToTopic(broker: Broker, topic: string, records: BatchInputRecord[], partition = 0): Promise<void> {
  if (records.length === 0) return;
  if (!broker.topics.get(topic)) {
    try {
      await broker.topics.create({ name: topic, partitions: 1, replicationFactor: -1, configs: {} });
    } catch (err) {
      if (!(err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
    }
  }
  const log = broker.topics.partition(topic, partition);
  if (!log) throw new Error(`topic ${topic} has no partition ${partition}`);
  await log.append(await encodeBatch({ records }));
}

export class TopicBridge {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly positions = new Map<number, number>();
  private readonly unsubscribe = new Map<number, () => void>();
  /** Waiters for the bridge to pass given end offsets (per partition). */
  private idleWaiters: Array<{ targets: Map<number, number>; resolve: () => void }> = [];

  constructor(
    private readonly broker: Broker,
    private readonly opts: TopicBridgeOptions,
  ) {}

  get topic(): string {
    return this.opts.topic;
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => this.opts.log?.error({ err, topic: this.opts.topic }, 'topic bridge stopped'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    for (const u of this.unsubscribe.values()) u();
    this.unsubscribe.clear();
    for (const w of this.idleWaiters.splice(0)) w.resolve();
  }

  /** Resolves once every record present now has been handled and committed (tests, strong writes). */
  caughtUp(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const targets = new Map<number, number>();
    const t = this.broker.topics.get(this.opts.topic);
    for (let p = 0; p < (t?.partitions ?? 0); p++) {
      const log = this.broker.topics.partition(this.opts.topic, p);
      if (log) targets.set(p, log.highWatermark);
    }
    return new Promise((resolve) => {
      this.idleWaiters.push({ targets, resolve });
      this.settleWaiters();
      this.wake?.();
    });
  }

  private settleWaiters(): void {
    this.idleWaiters = this.idleWaiters.filter((w) => {
      for (const [p, end] of w.targets) if ((this.positions.get(p) ?? -1) < end) return true;
      w.resolve();
      return false;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let progressed = false;
      let failed = false;
      try {
        progressed = await this.pass();
      } catch (err) {
        failed = true;
        this.opts.log?.warn({ err, topic: this.opts.topic }, 'topic bridge pass failed; retrying');
      }
      if (this.stopped) break;
      this.settleWaiters();
      if (progressed) continue;
      await this.sleep(failed ? (this.opts.retryMs ?? 1_000) : IDLE_RECHECK_MS);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  /** One read per partition; true when any records were handled. */
  private async pass(): Promise<boolean> {
    const t = this.broker.topics.get(this.opts.topic);
    if (!t) return false;
    let progressed = false;
    for (let p = 0; p < t.partitions && !this.stopped; p++) {
      const log = this.broker.topics.partition(this.opts.topic, p);
      if (!log) continue;
      if (!this.unsubscribe.has(p)) this.unsubscribe.set(p, log.onAdvance(() => this.wake?.()));
      let pos = this.positions.get(p) ?? this.committed(p);
      if (pos < log.logStartOffset) pos = log.logStartOffset;
      if (pos >= log.highWatermark) {
        this.positions.set(p, pos);
        continue;
      }
      let buf: Buffer;
      try {
        buf = await log.read(pos, this.opts.maxBytes ?? 1024 * 1024, { minOneBatch: true });
      } catch (err) {
        if (err instanceof LogError && err.code === 'OFFSET_OUT_OF_RANGE') {
          this.positions.set(p, log.logStartOffset);
          continue;
        }
        throw err;
      }
      const records: BridgeRecord[] = [];
      let next = pos;
      for (const b of await decodeBatches(buf)) {
        next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
        if (b.isControl) continue;
        for (const r of b.records) {
          if (r.offset < pos) continue;
          records.push({ topic: this.opts.topic, partition: p, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
        }
      }
      if (next === pos) continue;
      if (records.length > 0) await this.opts.handle(records);
      await this.commit(p, next);
      this.positions.set(p, next);
      progressed = true;
    }
    return progressed;
  }

  private committed(partition: number): number {
    const r = this.broker.groups.fetchOffsets(this.opts.groupId, [{ name: this.opts.topic, partitions: [partition] }]);
    const off = r.topics[0]?.partitions[0]?.committedOffset ?? -1;
    return off >= 0 ? off : 0;
  }

  private async commit(partition: number, offset: number): Promise<void> {
    const res = await this.broker.groups.commitOffsets({
      groupId: this.opts.groupId,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: this.opts.topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    const code = res[0]?.partitions[0]?.errorCode ?? 0;
    if (code !== 0) throw new Error(`offset commit for ${this.opts.topic}/${partition} failed with error code ${code}`);
  }
}
