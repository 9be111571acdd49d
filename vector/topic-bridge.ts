// An in-node consumer of one topic: reads every partition straight from the log, hands records to
// a handler, then commits the next offset in the group coordinator so a restart resumes there.
// In a cluster each partition is processed only by the broker leading it (so no record is
// applied or answered twice by two brokers at once), and the committed offset lets the next
// leader resume where this one stopped.
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import { TopicError } from '../broker/core/topics.js';
import { LogError } from '../broker/log/index.js';
import { ErrorCode } from '../broker/protocol/generated/error-codes.js';
import { decodeBatches, encodeBatch, type BatchInputRecord, type RecordHeader } from '../broker/protocol/records/records.js';
import { commitGroupOffsets, fetchGroupOffsets } from '../broker/client/admin.js';

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

/** Appends records to one partition of a topic, creating the topic (one partition) if missing; through its leader. */
export async function appendToTopic(broker: Broker, topic: string, records: BatchInputRecord[], partition = 0): Promise<void> {
  if (records.length === 0) return;
  if (!broker.topics.get(topic) && broker.cluster !== null) await broker.store.refresh();
  if (!broker.topics.get(topic)) {
    try {
      await broker.topics.create({ name: topic, partitions: 1, replicationFactor: -1, configs: {} });
    } catch (err) {
      if (!(err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
    }
  }
  if (broker.cluster === null && !broker.topics.partition(topic, partition)) throw new Error(`topic ${topic} has no partition ${partition}`);
  await broker.router.append(topic, partition, await encodeBatch({ records }));
}

export class TopicBridge {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly positions = new Map<number, number>();
  private readonly unsubscribe = new Map<number, () => void>();
  /** Positions handled but not yet committed (a commit failed). */
  private readonly uncommitted = new Map<number, number>();
  /** The log each partition was last processed through (a new one means a new lease). */
  private readonly leading = new Map<number, object>();
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
      for (const [p, end] of w.targets) if ((this.positions.get(p) ?? -1) < end || this.uncommitted.has(p)) return true;
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
      if (!log || log !== this.leading.get(p)) {
        // Not (or no longer, or newly) led here: forget the position, the committed offset is
        // the truth when leadership comes back.
        this.unsubscribe.get(p)?.();
        this.unsubscribe.delete(p);
        this.positions.delete(p);
        this.uncommitted.delete(p);
        this.leading.delete(p);
        if (!log) continue;
        this.leading.set(p, log);
      }
      if (!this.unsubscribe.has(p)) this.unsubscribe.set(p, log.onAdvance(() => this.wake?.()));
      await this.commitPending(p);
      let pos = this.positions.get(p) ?? (await this.committed(p));
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
      // Handled: never hand these records over again, even if the commit has to be retried
      // (in a cluster the group's coordinator may be moving).
      this.positions.set(p, next);
      this.uncommitted.set(p, next);
      progressed = true;
      await this.commitPending(p);
    }
    return progressed;
  }

  /** The committed offset; from the group's coordinator, which in a cluster may be another broker. */
  private async committed(partition: number): Promise<number> {
    const r = this.broker.groups.fetchOffsets(this.opts.groupId, [{ name: this.opts.topic, partitions: [partition] }]);
    if (r.errorCode === ErrorCode.NOT_COORDINATOR && this.broker.cluster !== null) {
      const client = await this.broker.router.kafkaClient();
      const got = await fetchGroupOffsets(client, this.opts.groupId, [{ name: this.opts.topic, partitions: [partition] }]);
      return got.get(this.opts.topic)?.get(partition)?.offset ?? 0;
    }
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`offset fetch for ${this.opts.topic}/${partition} failed with error code ${r.errorCode}`);
    const off = r.topics[0]?.partitions[0]?.committedOffset ?? -1;
    return off >= 0 ? off : 0;
  }

  private async commitPending(partition: number): Promise<void> {
    const offset = this.uncommitted.get(partition);
    if (offset === undefined) return;
    await this.commit(partition, offset);
    if (this.uncommitted.get(partition) === offset) this.uncommitted.delete(partition);
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
    let code = res[0]?.partitions[0]?.errorCode ?? 0;
    if (code === ErrorCode.NOT_COORDINATOR && this.broker.cluster !== null) {
      const client = await this.broker.router.kafkaClient();
      const out = await commitGroupOffsets(client, this.opts.groupId, this.opts.topic, new Map([[partition, offset]]));
      const err = out.find((o) => o.partition === partition)?.error;
      if (err) throw err;
      code = 0;
    }
    if (code !== 0) throw new Error(`offset commit for ${this.opts.topic}/${partition} failed with error code ${code}`);
  }
}
