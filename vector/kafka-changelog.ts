// A table's changelog on the broker's own log: one compacted topic, one partition, record key =
// primary key, value = JSON row, null value = delete. Any Kafka client can read it.
import type { Broker } from '../broker/core/broker.js';
import { TopicError } from '../broker/core/topics.js';
import type { PartitionView } from '../broker/cluster/router.js';
import { LogError } from '../broker/log/index.js';
import { ErrorCode } from '../broker/protocol/generated/error-codes.js';
import { decodeBatches, encodeBatch, type BatchInputRecord } from '../broker/protocol/records/records.js';
import type { ChangeEntry, ChangeHandler, Changelog } from './changelog.js';
import type { Key } from './rows.js';

/** Batches stay well under the default max.message.bytes (1 MiB) so plain consumers fetch them. */
const BATCH_TARGET_BYTES = 256 * 1024;
const READ_BYTES = 4 * 1024 * 1024;

export type KeyType = 'string' | 'int';

export function keyBytes(key: Key): string {
  return typeof key === 'number' ? String(key) : key;
}

/** Reads a record key back as the table's key type; undefined when it cannot be one. */
export function parseKey(raw: Buffer | null, type: KeyType): Key | undefined {
  if (raw === null) return undefined;
  const s = raw.toString('utf8');
  if (type === 'string') return s;
  if (!/^-?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Creates the topic if it is missing (compacted, one partition). In a cluster the topic may be
 * led by another broker (or by none yet), so no local log is returned.
 */
export async function ensureCompactedTopic(broker: Broker, topic: string): Promise<void> {
  if (!broker.topics.get(topic) && broker.cluster !== null) await broker.store.refresh();
  if (!broker.topics.get(topic)) {
    try {
      await broker.topics.create({ name: topic, partitions: 1, replicationFactor: -1, configs: { 'cleanup.policy': 'compact' } });
    } catch (err) {
      if (!(err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
    }
  }
  if (broker.cluster === null && !broker.topics.partition(topic, 0)) throw new Error(`changelog topic ${topic} has no partition 0`);
}

/** Encodes records into batches of about BATCH_TARGET_BYTES, laid back to back for one append. */
export async function encodeBatches(records: BatchInputRecord[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  let chunk: BatchInputRecord[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    parts.push(await encodeBatch({ records: chunk }));
    chunk = [];
    bytes = 0;
  };
  for (const r of records) {
    const size = (r.value === null ? 0 : r.value.length) + (r.key ? r.key.length : 0) + 32;
    if (bytes + size > BATCH_TARGET_BYTES) await flush();
    chunk.push(r);
    bytes += size;
  }
  await flush();
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export class KafkaChangelog implements Changelog {
  private constructor(
    private readonly broker: Broker,
    readonly topic: string,
    private readonly keyType: KeyType,
  ) {}

  static async open(broker: Broker, topic: string, keyType: KeyType): Promise<KafkaChangelog> {
    await ensureCompactedTopic(broker, topic);
    return new KafkaChangelog(broker, topic, keyType);
  }

  /**
   * The partition as readable here, looked up each time: leadership moves, and a topic deleted
   * and recreated gets a new log. Undefined in a cluster while no leader has published yet.
   */
  private async view(): Promise<PartitionView | undefined> {
    const v = await this.broker.router.view(this.topic, 0);
    if (!v && this.broker.cluster === null) throw new Error(`changelog topic ${this.topic} does not exist`);
    return v;
  }

  /** Calls `listener` when the changelog may have grown (until the returned function is called). */
  async watch(listener: () => void): Promise<(() => void) | undefined> {
    return (await this.view())?.onAdvance(listener);
  }

  async append(entries: ChangeEntry[]): Promise<number> {
    if (entries.length === 0) return ((await this.view())?.highWatermark ?? 0) - 1;
    const now = Date.now();
    const records: BatchInputRecord[] = entries.map((e) => ({
      key: keyBytes(e.key),
      value: e.op === 'delete' ? null : JSON.stringify(e.row),
      timestamp: now,
    }));
    // Through the changelog's leader wherever it is; a retried forward may store an entry
    // twice, which replays to the same row (upserts and deletes are idempotent per key).
    const res = await this.broker.router.append(this.topic, 0, await encodeBatches(records));
    return res.lastOffset;
  }

  async read(fromOffset: number, handler: ChangeHandler): Promise<number> {
    const log = await this.view();
    if (!log) return fromOffset;
    const startOf = () => log.logStartOffset ?? 0;
    let pos = Math.max(fromOffset, startOf());
    for (;;) {
      const end = log.highWatermark;
      if (pos >= end) return Math.max(pos, fromOffset);
      let buf: Buffer;
      try {
        buf = await log.read(pos, READ_BYTES, { minOneBatch: true });
      } catch (err) {
        // Retention or DeleteRecords moved the start past us: continue from the new start.
        if (err instanceof LogError && err.code === 'OFFSET_OUT_OF_RANGE' && pos < startOf()) {
          pos = startOf();
          continue;
        }
        throw err;
      }
      if (buf.length === 0) return Math.max(pos, fromOffset);
      const batches = await decodeBatches(buf);
      if (batches.length === 0) return Math.max(pos, fromOffset);
      for (const b of batches) {
        const batchEnd = b.header.baseOffset + b.header.lastOffsetDelta + 1;
        if (!b.isControl) {
          for (const r of b.records) {
            if (r.offset < pos) continue;
            await handler(this.toEntry(r.key, r.value), r.offset);
          }
        }
        pos = Math.max(pos, batchEnd);
      }
    }
  }

  private toEntry(rawKey: Buffer | null, value: Buffer | null): ChangeEntry {
    // An unusable key or value still reaches the table, which counts it as invalid and moves on.
    const key = parseKey(rawKey, this.keyType) ?? (rawKey === null ? '' : rawKey.toString('utf8'));
    if (value === null) return { op: 'delete', key };
    let row: Record<string, unknown> | undefined;
    try {
      row = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    } catch {
      row = undefined;
    }
    return row === undefined ? { op: 'upsert', key } : { op: 'upsert', key, row };
  }

  async destroy(): Promise<void> {
    if (!this.broker.topics.get(this.topic)) return;
    try {
      await this.broker.topics.delete(this.topic);
    } catch (err) {
      if (!(err instanceof TopicError && err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) throw err;
    }
  }
}
