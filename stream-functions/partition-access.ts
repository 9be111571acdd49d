// How the runtime reads its input partitions and appends its outputs: through the broker's
// PartitionRouter, which serves any partition (local log, or the shared medium when another
// broker leads it) and forwards appends to the leader.
import type { Broker } from '../broker/core/broker.js';
import type { PartitionLog } from '../broker/log/partition-log.js';
import { decodeBatches } from '../broker/protocol/records/records.js';
import type { AppendResult, PartitionView } from '../broker/cluster/router.js';

export type { AppendResult, PartitionView } from '../broker/cluster/router.js';

export interface PartitionAccess {
  view(topic: string, partition: number): Promise<PartitionView | undefined>;
  /** Resolves once durable on the partition's leader. */
  append(topic: string, partition: number, batches: Buffer): Promise<AppendResult>;
  /** The local log's leader epoch, or -1 when another broker leads it. */
  leaderEpoch(topic: string, partition: number): number;
  /** First offset at or after a timestamp (ms); null = none yet. */
  offsetForTimestamp(topic: string, partition: number, ms: number): Promise<number | null>;
}

export function partitionAccess(broker: Broker): PartitionAccess {
  const local = (topic: string, partition: number): PartitionLog | undefined => broker.topics.partition(topic, partition);
  return {
    view: (topic, partition) => broker.router.view(topic, partition),
    append: (topic, partition, batches) => broker.router.append(topic, partition, batches),
    leaderEpoch(topic, partition) {
      return local(topic, partition)?.leaderEpoch ?? -1;
    },
    async offsetForTimestamp(topic, partition, ms) {
      const log = local(topic, partition);
      if (log) return (await log.offsetForTimestamp(ms))?.offset ?? null;
      // Not led here: scan the shared copy once (only used to place a partition's first start).
      const v = await this.view(topic, partition);
      if (!v) return null;
      let pos = v.logStartOffset ?? 0;
      while (pos < v.highWatermark) {
        const batches = await decodeBatches(await v.read(pos, 1 << 20, { minOneBatch: true }), { verifyCrc: false });
        if (batches.length === 0) break;
        for (const b of batches) for (const rec of b.records) if (rec.offset >= pos && rec.timestamp >= ms) return rec.offset;
        const last = batches[batches.length - 1]!;
        pos = last.header.baseOffset + last.header.lastOffsetDelta + 1;
      }
      return null;
    },
  };
}
