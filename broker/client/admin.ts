// Topic administration on top of KafkaClient. Per-topic failures are returned, not thrown, so a
// command acting on several topics can report each one.
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeAssignment } from '../protocol/consumer/consumer-protocol.js';
import {
  CreatePartitions,
  CreateTopics,
  DeleteGroups,
  DeleteTopics,
  DescribeConfigs,
  DescribeGroups,
  FindCoordinator,
  IncrementalAlterConfigs,
  ListGroups,
  ListOffsets,
  OffsetCommit,
  OffsetFetch,
} from './apis.js';
import { KafkaError, UNKNOWN_SERVER_ERROR } from './errors.js';
import type { KafkaClient, NodeConnection } from './kafka-client.js';

const RESOURCE_TOPIC = 2;
const OP_SET = 0;
const OP_DELETE = 1;

export interface TopicResult {
  name: string;
  /** null when the operation succeeded. */
  error: KafkaError | null;
}

export interface CreateTopicSpec {
  name: string;
  /** -1 = broker default */
  partitions: number;
  /** -1 = broker default */
  replicationFactor: number;
  configs: Record<string, string>;
}

function result(name: string, code: number, message: string | null): TopicResult {
  return { name, error: code === ErrorCode.NONE ? null : new KafkaError(code, message) };
}

export async function createTopics(client: KafkaClient, specs: CreateTopicSpec[], timeoutMs = 30_000): Promise<TopicResult[]> {
  const node = await client.controller();
  const res = await node.send(CreateTopics, {
    topics: specs.map((s) => ({
      name: s.name,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      assignments: [],
      configs: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs,
    validateOnly: false,
  });
  return res.topics.map((t) => result(t.name, t.errorCode, t.errorMessage));
}

export async function deleteTopics(client: KafkaClient, names: string[], timeoutMs = 30_000): Promise<TopicResult[]> {
  const node = await client.controller();
  // v0-5 carry topicNames, v6+ carries topics; the codec writes whichever the version has.
  const res = await node.send(DeleteTopics, { topicNames: names, topics: names.map((name) => ({ name })), timeoutMs });
  return res.responses.map((r) => result(r.name ?? '', r.errorCode, r.errorMessage));
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: string;
  isDefault: boolean;
  readOnly: boolean;
  isSensitive: boolean;
}

/** Kafka's ConfigSource enum, named as rpk and kafka-configs show it. */
const CONFIG_SOURCES: Record<number, string> = {
  [-1]: 'UNKNOWN',
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'CLIENT_METRICS_CONFIG',
  8: 'GROUP_CONFIG',
};

export async function describeTopicConfigs(client: KafkaClient, topic: string): Promise<ConfigEntry[]> {
  const node = await client.controller();
  const v = node.version(DescribeConfigs);
  const res = await node.send(DescribeConfigs, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const r = res.results[0];
  if (!r) throw new KafkaError(UNKNOWN_SERVER_ERROR, 'DescribeConfigs returned no result', `topic "${topic}"`);
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, r.errorMessage, `topic "${topic}"`);
  return r.configs
    .map((c) => ({
      name: c.name,
      value: c.value,
      // v0 has only isDefault; v1+ has configSource.
      source: v === 0 ? (c.isDefault ? 'DEFAULT_CONFIG' : 'DYNAMIC_TOPIC_CONFIG') : CONFIG_SOURCES[c.configSource] ?? String(c.configSource),
      isDefault: v === 0 ? c.isDefault : c.configSource === 5,
      readOnly: c.readOnly,
      isSensitive: c.isSensitive,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function alterTopicConfig(client: KafkaClient, topic: string, set: Record<string, string>, remove: string[]): Promise<TopicResult> {
  const node = await client.controller();
  const res = await node.send(IncrementalAlterConfigs, {
    resources: [
      {
        resourceType: RESOURCE_TOPIC,
        resourceName: topic,
        configs: [
          ...Object.entries(set).map(([name, value]) => ({ name, configOperation: OP_SET, value })),
          ...remove.map((name) => ({ name, configOperation: OP_DELETE, value: null })),
        ],
      },
    ],
    validateOnly: false,
  });
  const r = res.responses[0];
  return result(topic, r ? r.errorCode : UNKNOWN_SERVER_ERROR, r ? r.errorMessage : 'no result');
}

export async function addPartitions(client: KafkaClient, topic: string, total: number, timeoutMs = 30_000): Promise<TopicResult> {
  const node = await client.controller();
  const res = await node.send(CreatePartitions, { topics: [{ name: topic, count: total, assignments: null }], timeoutMs, validateOnly: false });
  const r = res.results[0];
  return result(topic, r ? r.errorCode : UNKNOWN_SERVER_ERROR, r ? r.errorMessage : 'no result');
}

export const EARLIEST = -2;
export const LATEST = -1;

/**
 * ListOffsets for some partitions of a topic at one timestamp (EARLIEST, LATEST or ms), sent to
 * each partition's leader. Returns partition -> offset (-1 when no record is at or after ms).
 */
export async function listOffsets(client: KafkaClient, topic: string, partitions: number[], timestamp: number): Promise<Map<number, number>> {
  const info = client.cachedMetadata?.topics.get(topic) ?? (await client.topic(topic));
  const byLeader = new Map<number, number[]>();
  for (const p of partitions) {
    const leader = info.partitions.find((x) => x.partition === p)?.leaderId ?? -1;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
  }
  const out = new Map<number, number>();
  await Promise.all(
    [...byLeader].map(async ([leader, ps]) => {
      const node = await client.node(leader);
      const res = await node.send(ListOffsets, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: ps.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, null, `ListOffsets ${topic}/${p.partitionIndex}`);
          out.set(p.partitionIndex, p.offset);
        }
      }
    }),
  );
  return out;
}

// ---- consumer groups ------------------------------------------------------------------------

/** The coordinator of a group (FindCoordinator, batched form on v4+). */
export async function groupCoordinator(client: KafkaClient, groupId: string): Promise<NodeConnection> {
  const res = await client.bootstrap.send(FindCoordinator, { key: groupId, keyType: 0, coordinatorKeys: [groupId] });
  const c = client.bootstrap.version(FindCoordinator) >= 4 ? res.coordinators[0] : { ...res, key: groupId };
  if (!c) throw new KafkaError(UNKNOWN_SERVER_ERROR, 'FindCoordinator returned no coordinator', `group "${groupId}"`);
  if (c.errorCode !== ErrorCode.NONE) throw new KafkaError(c.errorCode, c.errorMessage, `group "${groupId}"`);
  if (!client.cachedMetadata?.brokers.has(c.nodeId)) await client.metadata([]);
  return client.node(c.nodeId);
}

export interface ListedGroupInfo {
  groupId: string;
  protocolType: string;
  state: string;
}

/** Groups of every broker; `states` filters case-insensitively (on the broker from ListGroups v4). */
export async function listGroups(client: KafkaClient, states: string[] = []): Promise<ListedGroupInfo[]> {
  const md = client.cachedMetadata ?? (await client.metadata([]));
  const ids = md.brokers.size > 0 ? [...md.brokers.keys()] : [-1];
  const wanted = new Set(states.map((s) => s.toLowerCase()));
  const out = new Map<string, ListedGroupInfo>();
  for (const id of ids) {
    const node = await client.node(id);
    const res = await node.send(ListGroups, { statesFilter: states, typesFilter: [] });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, null, 'ListGroups');
    for (const g of res.groups) {
      const state = g.groupState || 'Unknown';
      if (wanted.size > 0 && !wanted.has(state.toLowerCase())) continue;
      out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state });
    }
  }
  return [...out.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
}

export interface GroupMemberInfo {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** topic -> partitions, decoded when the group uses the consumer protocol. */
  assignment: Map<string, number[]>;
}

export interface GroupDescription {
  groupId: string;
  /** null when described without error. */
  error: KafkaError | null;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberInfo[];
}

// Kept for callers that decode DescribeGroups bytes through the client.
export { decodeAssignment };

export async function describeGroup(client: KafkaClient, groupId: string): Promise<GroupDescription> {
  const node = await groupCoordinator(client, groupId);
  const res = await node.send(DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
  const g = res.groups[0];
  if (!g) throw new KafkaError(UNKNOWN_SERVER_ERROR, 'DescribeGroups returned no group', `group "${groupId}"`);
  const consumer = g.protocolType === 'consumer' || g.protocolType === '';
  return {
    groupId,
    error: g.errorCode === ErrorCode.NONE ? null : new KafkaError(g.errorCode, null, `group "${groupId}"`),
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: consumer ? decodeAssignment(m.memberAssignment) : new Map(),
    })),
  };
}

export async function deleteGroups(client: KafkaClient, groupIds: string[]): Promise<Array<{ groupId: string; error: KafkaError | null }>> {
  return Promise.all(
    groupIds.map(async (groupId) => {
      try {
        const node = await groupCoordinator(client, groupId);
        const res = await node.send(DeleteGroups, { groupsNames: [groupId] });
        const r = res.results.find((x) => x.groupId === groupId);
        const code = r ? r.errorCode : UNKNOWN_SERVER_ERROR;
        return { groupId, error: code === ErrorCode.NONE ? null : new KafkaError(code, r ? null : 'no result') };
      } catch (err) {
        if (err instanceof KafkaError) return { groupId, error: err };
        throw err;
      }
    }),
  );
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
}

/** Committed offsets of a group: topic -> partition -> offset. `topics` null = all it has. */
export async function fetchGroupOffsets(
  client: KafkaClient,
  groupId: string,
  topics: Array<{ name: string; partitions: number[] }> | null = null,
): Promise<Map<string, Map<number, CommittedOffset>>> {
  const node = await groupCoordinator(client, groupId);
  const asReq = topics?.map((t) => ({ name: t.name, partitionIndexes: t.partitions })) ?? null;
  const res = await node.send(OffsetFetch, {
    groupId,
    topics: asReq,
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics: asReq }],
    requireStable: false,
  });
  // v8+ answers per group; older versions at the top level.
  const g = node.version(OffsetFetch) >= 8 ? res.groups[0] : { errorCode: res.errorCode, topics: res.topics };
  if (!g) throw new KafkaError(UNKNOWN_SERVER_ERROR, 'OffsetFetch returned no group', `group "${groupId}"`);
  if (g.errorCode !== ErrorCode.NONE) throw new KafkaError(g.errorCode, null, `group "${groupId}"`);
  const out = new Map<string, Map<number, CommittedOffset>>();
  for (const t of g.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== ErrorCode.NONE) throw new KafkaError(p.errorCode, null, `group "${groupId}" ${t.name}/${p.partitionIndex}`);
      if (p.committedOffset < 0) continue;
      let m = out.get(t.name);
      if (!m) out.set(t.name, (m = new Map()));
      m.set(p.partitionIndex, { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata ?? '' });
    }
  }
  return out;
}

/**
 * Commits offsets as an admin (no generation, no member), which the coordinator accepts only
 * while the group has no members. Per-partition failures are returned.
 */
export async function commitGroupOffsets(
  client: KafkaClient,
  groupId: string,
  topic: string,
  offsets: Map<number, number>,
): Promise<Array<{ partition: number; error: KafkaError | null }>> {
  const node = await groupCoordinator(client, groupId);
  const res = await node.send(OffsetCommit, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [
      {
        name: topic,
        partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({
          partitionIndex,
          committedOffset,
          committedLeaderEpoch: -1,
          commitTimestamp: -1,
          committedMetadata: '',
        })),
      },
    ],
  });
  return res.topics.flatMap((t) =>
    t.partitions.map((p) => ({ partition: p.partitionIndex, error: p.errorCode === ErrorCode.NONE ? null : new KafkaError(p.errorCode, null, `${t.name}/${p.partitionIndex}`) })),
  );
}
