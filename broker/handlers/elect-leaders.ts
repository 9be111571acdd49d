// ElectLeaders. With shared storage every lease holder sees all durable data, so an election is
// only ever "move the lease to its rendezvous owner", which the cluster manager does on its
// heartbeat: a preferred election waits (up to timeoutMs) for that move. A single node is always
// its partitions' preferred leader.
import { readElectLeadersRequest, writeElectLeadersResponse, type ElectLeadersRequest, type ElectLeadersResponse, type ElectLeadersResponsePartitionResult } from '../protocol/generated/elect-leaders.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Broker } from '../core/broker.js';
import { placementOf, selectPartitions } from './partition-placement.js';
import { defineHandler } from './types.js';

type PartitionResult = Input<ElectLeadersResponsePartitionResult>;

export const ELECTION_PREFERRED = 0;
export const ELECTION_UNCLEAN = 1;
const POLL_MS = 100;
const MAX_WAIT_MS = 30_000;

/** The final result for the partition, or pending while its lease has yet to move. */
function electionState(broker: Broker, topic: string, p: number, type: number): PartitionResult | 'pending' {
  const pl = placementOf(broker, topic, p);
  if (type === ELECTION_UNCLEAN) {
    if (pl.leader >= 0) return { partitionId: p, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `Partition ${topic}-${p} has leader ${pl.leader}.` };
    return pl.live.length === 0 ? { partitionId: p, errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: 'No live broker can take the partition lease.' } : 'pending';
  }
  if (pl.preferred < 0) return { partitionId: p, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'No live broker can take the partition lease.' };
  if (pl.leader === pl.preferred) return { partitionId: p, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: `Leader ${pl.leader} of ${topic}-${p} is already the preferred one.` };
  return 'pending';
}

async function elect(broker: Broker, topic: string, p: number, type: number, deadline: number): Promise<PartitionResult> {
  let first = true;
  for (;;) {
    const s = electionState(broker, topic, p, type);
    if (s !== 'pending') {
      // A lease that moved while we waited is an election that took place.
      return first ? s : s.errorCode === ErrorCode.ELECTION_NOT_NEEDED ? { partitionId: p, errorCode: ErrorCode.NONE, errorMessage: null } : s;
    }
    first = false;
    if (Date.now() >= deadline) {
      const pl = placementOf(broker, topic, p);
      const code = type === ELECTION_UNCLEAN ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
      return { partitionId: p, errorCode: code, errorMessage: `The lease of ${topic}-${p} has not moved to broker ${pl.preferred} yet (leader ${pl.leader}); it moves on the next cluster heartbeat.` };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export default defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  apiKey: 43,
  minVersion: 0,
  maxVersion: 2,
  read: readElectLeadersRequest,
  write: writeElectLeadersResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const type = ctx.apiVersion >= 1 ? req.electionType : ELECTION_PREFERRED;
    const all = req.topicPartitions === null;
    if (type !== ELECTION_PREFERRED && type !== ELECTION_UNCLEAN) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    }
    const deadline = Date.now() + Math.min(Math.max(req.timeoutMs, 0), MAX_WAIT_MS);
    const results = [];
    for (const sel of selectPartitions(broker, req.topicPartitions)) {
      const t = broker.topics.get(sel.topic);
      const partitionResult: PartitionResult[] = await Promise.all(
        sel.partitions.map((p) =>
          t && p >= 0 && p < t.partitions
            ? elect(broker, sel.topic, p, type, deadline)
            : Promise.resolve({ partitionId: p, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Partition ${sel.topic}-${p} does not exist.` }),
        ),
      );
      // For "all partitions" Kafka reports only the partitions an election was tried for.
      const shown = all ? partitionResult.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) : partitionResult;
      if (shown.length > 0) results.push({ topic: sel.topic, partitionResult: shown });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: results };
  },
});
