// Assign-style consumer: no group, explicit partitions and start positions, Fetch from leaders.
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBatches } from '../protocol/records/records.js';
import type { RecordHeader } from '../protocol/records/record.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { FetchResponse } from '../protocol/generated/fetch.js';
import { EARLIEST, LATEST, listOffsets } from './admin.js';
import { Fetch } from './apis.js';
import { KafkaError, UsageError } from './errors.js';
import type { KafkaClient, TopicInfo } from './kafka-client.js';

export type StartSpec =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: number }
  | { kind: 'time'; ms: number }
  /** `+N`: N past the log start; `-N`: N before the end (both clamped to the log). */
  | { kind: 'fromStart'; delta: number }
  | { kind: 'fromEnd'; delta: number };

/** Where reading stops (exclusive): an offset, the first record at a time, or the end seen at start. */
export type EndSpec = { kind: 'end' } | { kind: 'offset'; offset: number } | { kind: 'time'; ms: number };

export interface OffsetRange {
  start: StartSpec;
  end?: EndSpec;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface ConsumerOptions {
  topic: string;
  /** Default: every partition of the topic. */
  partitions?: number[];
  start: StartSpec;
  maxWaitMs?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** Told about automatic offset resets and retries. */
  onNotice?: (message: string) => void;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `@<unix-ms>`, `@-<duration>` (1h, 30m, 10s, 500ms, 2d ago) or `@<ISO date>`. */
function parseTime(s: string, now: number): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  const rel = /^-(\d+)(ms|s|m|h|d)$/.exec(s);
  if (rel) return now - Number(rel[1]) * DURATION_UNITS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

const OFFSET_HELP = 'expected start, end, <offset>, +<n>, -<n>, @<unix-ms>, @-<duration> or @<ISO date>, optionally :<end> (an offset, +<n>, @<time> or end)';

function parseStartPart(s: string, now: number): StartSpec | null {
  if (s === 'start' || s === 'oldest' || s === 'earliest' || s === 'beginning') return { kind: 'start' };
  if (s === 'end' || s === 'newest' || s === 'latest') return { kind: 'end' };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: Number(s) };
  if (/^\+\d+$/.test(s)) return { kind: 'fromStart', delta: Number(s.slice(1)) };
  if (/^-\d+$/.test(s)) return { kind: 'fromEnd', delta: Number(s.slice(1)) };
  if (s.startsWith('@')) {
    const ms = parseTime(s.slice(1), now);
    return ms === null ? null : { kind: 'time', ms };
  }
  return null;
}

/** Parses -o: start | end | <offset> | +n | -n | @time, with an optional `:<end>` like rpk. */
export function parseOffsetRange(s: string, now = Date.now()): OffsetRange {
  const whole = parseStartPart(s, now);
  if (whole !== null) return { start: whole };
  // ISO times hold ':' too, so take the first split where both sides parse.
  for (let cut = s.indexOf(':'); cut >= 0; cut = s.indexOf(':', cut + 1)) {
    const head = s.slice(0, cut);
    const start = head === '' ? ({ kind: 'start' } as const) : parseStartPart(head, now);
    const end = start === null ? null : parseEndPart(s.slice(cut + 1), start, now);
    if (start !== null && end !== null) return { start, end };
  }
  throw new UsageError(`invalid offset "${s}": ${OFFSET_HELP}`);
}

function parseEndPart(s: string, start: StartSpec, now: number): EndSpec | null {
  if (s === 'end' || s === '') return { kind: 'end' };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: Number(s) };
  if (/^\+\d+$/.test(s)) return start.kind === 'offset' ? { kind: 'offset', offset: start.offset + Number(s.slice(1)) } : null;
  if (s.startsWith('@')) {
    const ms = parseTime(s.slice(1), now);
    return ms === null ? null : { kind: 'time', ms };
  }
  return null;
}

/** Parses a start position alone (no range). */
export function parseStart(s: string): StartSpec {
  const r = parseOffsetRange(s);
  if (r.end !== undefined) throw new UsageError(`invalid offset "${s}": a range is not allowed here`);
  return r.start;
}

export class PartitionConsumer {
  /** Next offset to fetch per partition. */
  readonly positions = new Map<number, number>();
  /** High watermark per partition, from the last fetch. */
  readonly highWatermarks = new Map<number, number>();
  private readonly o: Required<Omit<ConsumerOptions, 'partitions'>>;

  private constructor(
    private readonly client: KafkaClient,
    private topic: TopicInfo,
    opts: ConsumerOptions,
  ) {
    this.o = { maxWaitMs: 500, maxBytes: 16 * 1024 * 1024, partitionMaxBytes: 4 * 1024 * 1024, onNotice: () => undefined, ...opts };
  }

  static async create(client: KafkaClient, opts: ConsumerOptions): Promise<PartitionConsumer> {
    const topic = await client.topic(opts.topic);
    const all = topic.partitions.map((p) => p.partition);
    const partitions = opts.partitions ?? all;
    for (const p of partitions) {
      if (!all.includes(p)) throw new UsageError(`partition ${p} does not exist: topic "${opts.topic}" has ${all.length} partition(s)`);
    }
    const c = new PartitionConsumer(client, topic, opts);
    await c.seek(partitions, opts.start);
    return c;
  }

  async seek(partitions: number[], start: StartSpec): Promise<void> {
    if (start.kind === 'offset') {
      for (const p of partitions) this.positions.set(p, start.offset);
      return;
    }
    if (start.kind === 'fromStart' || start.kind === 'fromEnd') {
      const [lo, hi] = await Promise.all([
        listOffsets(this.client, this.topic.name, partitions, EARLIEST),
        listOffsets(this.client, this.topic.name, partitions, LATEST),
      ]);
      for (const p of partitions) {
        const first = lo.get(p) ?? 0;
        const last = hi.get(p) ?? 0;
        const at = start.kind === 'fromStart' ? first + start.delta : last - start.delta;
        this.positions.set(p, Math.min(last, Math.max(first, at)));
      }
      return;
    }
    const ts = start.kind === 'start' ? EARLIEST : start.kind === 'end' ? LATEST : start.ms;
    const found = await listOffsets(this.client, this.topic.name, partitions, ts);
    // No record at or after the timestamp: start at the end, like Kafka's offsetsForTimes users do.
    const ends = start.kind === 'time' && [...found.values()].some((o) => o < 0) ? await listOffsets(this.client, this.topic.name, partitions, LATEST) : null;
    for (const p of partitions) {
      const o = found.get(p) ?? -1;
      this.positions.set(p, o >= 0 ? o : ends?.get(p) ?? 0);
    }
  }

  /** Resolves an end position to an exclusive offset per partition being read. */
  async endOffsets(end: EndSpec): Promise<Map<number, number>> {
    const partitions = [...this.positions.keys()];
    if (end.kind === 'offset') return new Map(partitions.map((p) => [p, end.offset]));
    const latest = await listOffsets(this.client, this.topic.name, partitions, LATEST);
    if (end.kind === 'end') return latest;
    const at = await listOffsets(this.client, this.topic.name, partitions, end.ms);
    return new Map(partitions.map((p) => [p, (at.get(p) ?? -1) >= 0 ? at.get(p)! : latest.get(p) ?? 0]));
  }

  /** Stops reading a partition (the next poll skips it). */
  release(partition: number): void {
    this.positions.delete(partition);
  }

  /** One fetch round against every leader; returns records in offset order per partition. */
  async poll(): Promise<ConsumedRecord[]> {
    const byLeader = new Map<number, number[]>();
    for (const p of this.positions.keys()) {
      const leader = this.topic.partitions.find((x) => x.partition === p)?.leaderId ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const rounds = await Promise.all([...byLeader].map(([leader, ps]) => this.fetchFrom(leader, ps)));
    return rounds.flat();
  }

  private async fetchFrom(leader: number, partitions: number[]): Promise<ConsumedRecord[]> {
    const node = await this.client.node(leader);
    const res: FetchResponse = await node.send(
      Fetch,
      {
        replicaId: -1,
        maxWaitMs: this.o.maxWaitMs,
        minBytes: 1,
        maxBytes: this.o.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: this.topic.name,
            topicId: this.topic.topicId || ZERO_UUID,
            partitions: partitions.map((p) => ({
              partition: p,
              currentLeaderEpoch: -1,
              fetchOffset: this.positions.get(p)!,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: this.o.partitionMaxBytes,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs: this.o.maxWaitMs + 30_000 },
    );
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, null, 'fetch');
    const out: ConsumedRecord[] = [];
    let refresh = false;
    for (const t of res.responses) {
      for (const pd of t.partitions) {
        const p = pd.partitionIndex;
        const from = this.positions.get(p);
        if (from === undefined) continue;
        if (pd.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.resetOutOfRange(p, from);
          continue;
        }
        if (pd.errorCode !== ErrorCode.NONE) {
          const err = new KafkaError(pd.errorCode, null, `fetch ${this.topic.name}/${p}`);
          if (!err.retriable) throw err;
          this.o.onNotice(`${err.message}; retrying`);
          refresh = true;
          continue;
        }
        this.highWatermarks.set(p, pd.highWatermark);
        if (!pd.records || pd.records.length === 0) continue;
        let next = from;
        const batches = await decodeBatches(pd.records);
        if (batches.length === 0) {
          // Only a partial batch came back: the next batch is larger than the partition limit.
          this.o.partitionMaxBytes *= 2;
          this.o.onNotice(`batch at ${this.topic.name}/${p}@${from} exceeds the fetch size; raising it to ${this.o.partitionMaxBytes} bytes`);
          continue;
        }
        for (const batch of batches) {
          const end = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
          if (!batch.isControl) {
            for (const r of batch.records) {
              if (r.offset < from) continue; // a compressed batch may start before the fetch offset
              out.push({ topic: this.topic.name, partition: p, offset: r.offset, timestamp: r.timestamp, timestampType: batch.timestampType, key: r.key, value: r.value, headers: r.headers });
            }
          }
          if (end > next) next = end;
        }
        this.positions.set(p, next);
      }
    }
    if (refresh) {
      await sleep(200);
      this.topic = await this.client.topic(this.topic.name);
    }
    return out;
  }

  private async resetOutOfRange(p: number, from: number): Promise<void> {
    const [start, end] = await Promise.all([
      listOffsets(this.client, this.topic.name, [p], EARLIEST),
      listOffsets(this.client, this.topic.name, [p], LATEST),
    ]);
    const lo = start.get(p) ?? 0;
    const hi = end.get(p) ?? 0;
    const to = from < lo ? lo : hi;
    this.o.onNotice(`offset ${from} is out of range for ${this.topic.name}/${p} (log ${lo}..${hi}); resetting to ${to}`);
    this.positions.set(p, to);
  }
}
