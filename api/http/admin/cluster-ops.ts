// Cluster view: live brokers and who leads each partition (the holder of its lease in a cluster).
import type { Broker } from '../../../broker/core/broker.js';

export interface BrokerView {
  node_id: number;
  host: string;
  port: number;
  rack: string | null;
}

export async function clusterInfo(broker: Broker): Promise<{ cluster_id: string; controller_id: number; brokers: BrokerView[] }> {
  let live: BrokerView[] = [];
  try {
    live = (await broker.store.liveBrokers()).map((b) => ({ node_id: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
  } catch {
    live = [];
  }
  if (!live.some((b) => b.node_id === broker.nodeId)) {
    const { host, port } = broker.advertised;
    live.push({ node_id: broker.nodeId, host, port, rack: null });
  }
  live.sort((a, b) => a.node_id - b.node_id);
  return { cluster_id: broker.clusterId, controller_id: broker.nodeId, brokers: live };
}

export function partitionLeaders(broker: Broker): Array<{ topic: string; partition: number; leader: number; leader_epoch: number }> {
  const out: Array<{ topic: string; partition: number; leader: number; leader_epoch: number }> = [];
  for (const t of [...broker.topics.list()].sort((a, b) => a.name.localeCompare(b.name))) {
    for (let p = 0; p < t.partitions; p++) {
      const lead = broker.cluster ? broker.cluster.leaderOf(t.name, p) : { leaderId: broker.nodeId, leaderEpoch: t.leaderEpochs[p] ?? 0 };
      out.push({ topic: t.name, partition: p, leader: lead.leaderId, leader_epoch: lead.leaderEpoch });
    }
  }
  return out;
}
