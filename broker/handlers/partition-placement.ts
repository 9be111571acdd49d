// Where a partition's lease belongs: shared by ElectLeaders and the reassignment APIs. In a
// cluster the owner is the rendezvous choice over live brokers; the cluster manager moves leases
// there on its heartbeat, and nothing can pin a lease elsewhere.
import { partitionLeaseKey } from '../cluster/control-store.js';
import { rendezvousOwner } from '../cluster/rendezvous.js';
import type { Broker } from '../core/broker.js';

export interface Placement {
  /** Current leader (-1 when none is live). */
  leader: number;
  /** The broker the lease belongs on (-1 when no broker is live). */
  preferred: number;
  live: number[];
}

export function placementOf(broker: Broker, topic: string, partition: number): Placement {
  const cluster = broker.cluster;
  if (!cluster) return { leader: broker.nodeId, preferred: broker.nodeId, live: [broker.nodeId] };
  const live = cluster.liveBrokers().map((b) => b.nodeId);
  return {
    leader: cluster.leaderOf(topic, partition).leaderId,
    preferred: rendezvousOwner(partitionLeaseKey(topic, partition), live) ?? -1,
    live,
  };
}

/** Topic/partition pairs named by a request, or every partition when `wanted` is null. */
export function selectPartitions(broker: Broker, wanted: ReadonlyArray<{ topic: string; partitions: readonly number[] }> | null): Array<{ topic: string; partitions: number[] }> {
  if (wanted === null) return broker.topics.list().map((t) => ({ topic: t.name, partitions: Array.from({ length: t.partitions }, (_, p) => p) }));
  return wanted.map((w) => ({ topic: w.topic, partitions: [...new Set(w.partitions)] }));
}
