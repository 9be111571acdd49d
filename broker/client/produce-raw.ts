// One Produce of already-encoded record batches to one partition, on a given connection; used by
// brokers forwarding an append to a partition's leader.
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { Produce } from './apis.js';
import { KafkaError, UNKNOWN_SERVER_ERROR } from './errors.js';
import type { NodeConnection } from './kafka-client.js';

export interface RawProduceOptions {
  acks: -1 | 1;
  timeoutMs: number;
}

/** Sends `batches` (v2, back to back) and returns the base offset the leader assigned; a KafkaError otherwise. */
export async function produceBatches(node: NodeConnection, topic: string, partition: number, batches: Buffer, opts: RawProduceOptions): Promise<{ baseOffset: number }> {
  const res = await node.send(
    Produce,
    { transactionalId: null, acks: opts.acks, timeoutMs: opts.timeoutMs, topicData: [{ name: topic, partitionData: [{ index: partition, records: batches }] }] },
    { timeoutMs: opts.timeoutMs + 5_000 },
  );
  const p = res.responses.find((t) => t.name === topic)?.partitionResponses.find((x) => x.index === partition);
  const context = `produce ${topic}/${partition}`;
  if (!p) throw new KafkaError(UNKNOWN_SERVER_ERROR, 'no response for partition', context);
  if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, p.errorMessage, context);
  return { baseOffset: p.baseOffset };
}
