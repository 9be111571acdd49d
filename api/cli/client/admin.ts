// Topic administration on top of KafkaClient. Per-topic failures are returned, not thrown, so a
// command acting on several topics can report each one.
import { ErrorCode } from '../../../broker/protocol/generated/error-codes.js';
import { CreatePartitions, CreateTopics, DeleteTopics, DescribeConfigs, IncrementalAlterConfigs, ListOffsets } from './apis.js';
import { KafkaError, UNKNOWN_SERVER_ERROR } from './errors.js';
import type { KafkaClient } from './kafka-client.js';

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
