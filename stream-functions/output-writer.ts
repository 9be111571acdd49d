// Appends function outputs to their partitions' leaders (the local log, or forwarded in a
// cluster); append resolves after fsync, which is what lets the runtime commit input offsets
// afterwards.
import type { Broker } from '../broker/core/broker.js';
import type { PartitionAccess } from './partition-access.js';
import { TopicError } from '../broker/core/topics.js';
import { ErrorCode } from '../broker/protocol/generated/error-codes.js';
import { encodeBatchSync, type BatchInputRecord } from '../broker/protocol/records/records.js';
import { partitionForKey } from '../broker/client/partitioner.js';

export interface OutputRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  timestamp: number | null;
}

const CHUNK_RECORDS = 1_000;
const CHUNK_BYTES = 512 * 1024;

export class OutputWriter {
  private rr = 0;

  constructor(
    private readonly broker: Broker,
    private readonly partitions: PartitionAccess,
  ) {}

  /** Creates the topic with broker defaults when missing (outputs and DLQs are created on demand). */
  async ensureTopic(topic: string): Promise<number> {
    const t = this.broker.topics.get(topic);
    if (t) return t.partitions;
    try {
      return (await this.broker.topics.create({ name: topic, partitions: -1, replicationFactor: -1, configs: {} })).partitions;
    } catch (err) {
      if (err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.broker.topics.get(topic)?.partitions ?? 1;
      throw err;
    }
  }

  /** Durably appends every record; keyed records go where a Kafka producer would put them. */
  async write(topic: string, records: OutputRecord[]): Promise<void> {
    if (records.length === 0) return;
    const partitions = await this.ensureTopic(topic);
    const byPartition = new Map<number, OutputRecord[]>();
    for (const r of records) {
      const p = r.key !== null ? partitionForKey(r.key, partitions) : this.rr++ % partitions;
      const list = byPartition.get(p) ?? [];
      list.push(r);
      byPartition.set(p, list);
    }
    await Promise.all(
      [...byPartition].map(async ([p, list]) => {
        for (const chunk of chunks(list)) {
          const now = Date.now();
          const input: BatchInputRecord[] = chunk.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp ?? now }));
          await this.partitions.append(topic, p, encodeBatchSync({ records: input }));
        }
      }),
    );
  }
}

function* chunks(list: OutputRecord[]): Generator<OutputRecord[]> {
  let cur: OutputRecord[] = [];
  let bytes = 0;
  for (const r of list) {
    const size = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 64;
    if (cur.length > 0 && (cur.length >= CHUNK_RECORDS || bytes + size > CHUNK_BYTES)) {
      yield cur;
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) yield cur;
}
