// Every member of a function's group with its partitions and lag, whichever broker runs it:
// the coordinator's description and committed offsets, plus each partition's high watermark.
// Asked in-process when this broker coordinates the group, else over the Kafka wire.
import type { Broker } from '../broker/core/broker.js';
import { decodeAssignment, describeGroup, fetchGroupOffsets } from '../broker/client/admin.js';
import type { PartitionAccess } from './partition-access.js';

export interface MemberPartition {
  topic: string;
  partition: number;
  /** Committed offset (-1 = none yet). */
  committed: number;
  highWatermark: number;
  lag: number;
}

export interface MemberView {
  memberId: string;
  clientId: string;
  clientHost: string;
  /** The broker running this member (from the runtime's client id), null for a foreign client. */
  node: number | null;
  partitions: MemberPartition[];
}

export interface GroupView {
  state: string;
  members: MemberView[];
  /** Set when the coordinator could not be asked. */
  error: string | null;
}

interface RawMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: Map<string, number[]>;
}

export function nodeOfClientId(clientId: string): number | null {
  const m = /^floe-fn-node-(\d+)$/.exec(clientId);
  return m ? Number(m[1]) : null;
}

async function describeRaw(broker: Broker, groupId: string): Promise<{ state: string; members: RawMember[]; committed: Map<string, number> }> {
  const committed = new Map<string, number>();
  if (broker.groups.ownership.owns(groupId)) {
    const g = broker.groups.describe([groupId])[0];
    for (const t of broker.groups.fetchOffsets(groupId, null).topics) for (const p of t.partitions) committed.set(`${t.name}/${p.partitionIndex}`, p.committedOffset);
    return {
      state: g?.state ?? 'Dead',
      members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment: decodeAssignment(m.assignment) })),
      committed,
    };
  }
  // The router's shared client, bootstrapped at this broker (not ours to close).
  const client = await broker.router.kafkaClient();
  const g = await describeGroup(client, groupId);
  for (const [topic, parts] of await fetchGroupOffsets(client, groupId)) for (const [p, o] of parts) committed.set(`${topic}/${p}`, o.offset);
  return { state: g.state, members: g.members, committed };
}

export async function groupView(broker: Broker, partitions: PartitionAccess, groupId: string): Promise<GroupView> {
  let raw: Awaited<ReturnType<typeof describeRaw>>;
  try {
    raw = await describeRaw(broker, groupId);
  } catch (err) {
    return { state: 'Unknown', members: [], error: (err as Error).message };
  }
  const members: MemberView[] = [];
  for (const m of raw.members) {
    const parts: MemberPartition[] = [];
    for (const [topic, ps] of [...m.assignment].sort((x, y) => x[0].localeCompare(y[0]))) {
      for (const partition of ps) {
        const committed = raw.committed.get(`${topic}/${partition}`) ?? -1;
        const hw = (await partitions.view(topic, partition).catch(() => undefined))?.highWatermark ?? 0;
        parts.push({ topic, partition, committed, highWatermark: hw, lag: committed >= 0 ? Math.max(0, hw - committed) : hw });
      }
    }
    members.push({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, node: nodeOfClientId(m.clientId), partitions: parts });
  }
  members.sort((a, b) => (a.node ?? 0) - (b.node ?? 0) || a.memberId.localeCompare(b.memberId));
  return { state: raw.state, members, error: null };
}
