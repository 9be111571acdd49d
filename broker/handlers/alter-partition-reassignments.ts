// AlterPartitionReassignments. Storage is shared, so a replica list only says which broker should
// lead. A single node accepts only [itself]. A cluster places leases by rendezvous hashing and
// the cluster manager cannot pin a lease to another broker, so a list is accepted (as a no-op)
// only when it names live brokers and leads with the partition's rendezvous owner.
import { readAlterPartitionReassignmentsRequest, writeAlterPartitionReassignmentsResponse, type AlterPartitionReassignmentsRequest, type AlterPartitionReassignmentsResponse, type AlterPartitionReassignmentsResponseReassignablePartitionResponse } from '../protocol/generated/alter-partition-reassignments.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Broker } from '../core/broker.js';
import { placementOf } from './partition-placement.js';
import { defineHandler } from './types.js';

type PartitionResponse = Input<AlterPartitionReassignmentsResponseReassignablePartitionResponse>;

function reassign(broker: Broker, topic: string, p: number, replicas: number[] | null): PartitionResponse {
  const fail = (errorCode: number, errorMessage: string): PartitionResponse => ({ partitionIndex: p, errorCode, errorMessage });
  const t = broker.topics.get(topic);
  if (!t || p < 0 || p >= t.partitions) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${topic}-${p} does not exist.`);
  if (replicas === null) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `No reassignment of ${topic}-${p} is in progress.`);
  if (replicas.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica list is empty.');
  if (new Set(replicas).size !== replicas.length) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The replica list ${JSON.stringify(replicas)} names a broker twice.`);
  const pl = placementOf(broker, topic, p);
  const unknown = replicas.filter((r) => !pl.live.includes(r));
  if (unknown.length > 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Broker(s) ${unknown.join(', ')} are not live brokers of this cluster (live: ${pl.live.join(', ')}).`);
  if (!broker.cluster) return { partitionIndex: p, errorCode: ErrorCode.NONE, errorMessage: null };
  if (replicas[0] !== pl.preferred) {
    return fail(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `Floe places the lease of ${topic}-${p} on its rendezvous owner, broker ${pl.preferred}, and cannot pin it to broker ${replicas[0]}; every live broker already reads the partition from shared storage.`,
    );
  }
  return { partitionIndex: p, errorCode: ErrorCode.NONE, errorMessage: null };
}

export default defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  apiKey: 45,
  minVersion: 0,
  maxVersion: 0,
  read: readAlterPartitionReassignmentsRequest,
  write: writeAlterPartitionReassignmentsResponse,
  handle(req, ctx) {
    const responses = req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => reassign(ctx.broker, t.name, p.partitionIndex, p.replicas)) }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
