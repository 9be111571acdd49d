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

export type StartSpec = { kind: 'start' } | { kind: 'end' } | { kind: 'offset'; offset: number } | { kind: 'time'; ms: number };

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

/** Parses -o: start | end | <offset> | @<ms since epoch>. */
export function parseStart(s: string): StartSpec {
  if (s === 'start' || s === 'oldest' || s === 'earliest') return { kind: 'start' };
  if (s === 'end' || s === 'newest' || s === 'latest') return { kind: 'end' };
  if (/^@\d+$/.test(s)) return { kind: 'time', ms: Number(s.slice(1)) };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: Number(s) };
  throw new UsageError(`invalid offset "${s}": expected start, end, <offset> or @<unix-ms>`);
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
    const ts = start.kind === 'start' ? EARLIEST : start.kind === 'end' ? LATEST : start.ms;
    const found = await listOffsets(this.client, this.topic.name, partitions, ts);
    // No record at or after the timestamp: start at the end, like Kafka's offsetsForTimes users do.
    const ends = start.kind === 'time' && [...found.values()].some((o) => o < 0) ? await listOffsets(this.client, this.topic.name, partitions, LATEST) : null;
    for (const p of partitions) {
      const o = found.get(p) ?? -1;
      this.positions.set(p, o >= 0 ? o : ends?.get(p) ?? 0);
    }
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
