// Topic admin on the broker in-process; answers match what the CLI gets over Metadata,
// ListOffsets and DescribeConfigs.
import type { Broker } from '../../../broker/core/broker.js';
import { TopicError } from '../../../broker/core/topics.js';
import type { TopicRecord } from '../../../broker/cluster/control-store.js';
import { describeTopicConfig, isTopicConfigName } from '../../../broker/config/topic-config.js';
import { canonicalValue, isResourceError } from '../../../broker/handlers/config-resource.js';
import { ErrorCode } from '../../../broker/protocol/generated/error-codes.js';
import { HttpError, kafkaError, notFound } from '../errors.js';

export interface TopicSummary {
  name: string;
  topic_id: string;
  partitions: number;
  replication_factor: number;
  internal: boolean;
}

export interface PartitionDetail {
  partition: number;
  leader: number;
  leader_epoch: number;
  replicas: number[];
  isr: number[];
  log_start_offset: number;
  high_watermark: number;
}

export interface ConfigView {
  name: string;
  value: string | null;
  source: string;
  read_only: boolean;
  sensitive: boolean;
}

function summary(broker: Broker, t: TopicRecord): TopicSummary {
  return { name: t.name, topic_id: t.topicId, partitions: t.partitions, replication_factor: 1, internal: t.name.startsWith('__') };
}

export function listTopics(broker: Broker, internal: boolean): TopicSummary[] {
  return broker.topics
    .list()
    .map((t) => summary(broker, t))
    .filter((t) => internal || !t.internal)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function topicOrThrow(broker: Broker, name: string): TopicRecord {
  const t = broker.topics.get(name);
  if (!t) throw notFound(`topic '${name}' does not exist`);
  return t;
}

/** The topic, looking at the control store again when another broker may have just created it. */
export async function findTopic(broker: Broker, name: string): Promise<TopicRecord> {
  if (!broker.topics.get(name) && broker.cluster !== null) await broker.store.refresh();
  return topicOrThrow(broker, name);
}

/**
 * Leader and offsets of every partition, as Metadata and ListOffsets would say from this broker:
 * in a cluster the lease holder leads, every live broker can serve reads, and offsets of a
 * partition led elsewhere come from the shared medium (its last published high watermark).
 */
export async function partitionDetails(broker: Broker, t: TopicRecord): Promise<PartitionDetail[]> {
  const out: PartitionDetail[] = [];
  for (let p = 0; p < t.partitions; p++) out.push(await partitionDetail(broker, t, p));
  return out;
}

export async function partitionDetail(broker: Broker, t: TopicRecord, p: number): Promise<PartitionDetail> {
  const cluster = broker.cluster;
  const all = cluster ? cluster.liveBrokers().map((b) => b.nodeId) : [broker.nodeId];
  const lead = cluster ? cluster.leaderOf(t.name, p) : { leaderId: broker.nodeId, leaderEpoch: t.leaderEpochs[p] ?? 0 };
  const view = await broker.router.view(t.name, p).catch(() => undefined);
  // In a cluster a partition no broker has started yet is empty.
  const none = cluster ? 0 : -1;
  return {
    partition: p,
    leader: lead.leaderId,
    leader_epoch: lead.leaderEpoch,
    replicas: all,
    isr: all,
    log_start_offset: view ? (view.logStartOffset ?? 0) : none,
    high_watermark: view?.highWatermark ?? none,
  };
}

export function topicConfigs(broker: Broker, t: TopicRecord): ConfigView[] {
  return describeTopicConfig(t.configs, broker.config, null).map((e) => ({
    name: e.name,
    value: e.isSensitive ? null : e.value,
    source: e.source,
    read_only: e.readOnly,
    sensitive: e.isSensitive,
  }));
}

export async function describeTopic(broker: Broker, name: string): Promise<TopicSummary & { partition_details: PartitionDetail[]; configs: ConfigView[] }> {
  const t = await findTopic(broker, name);
  return { ...summary(broker, t), partition_details: await partitionDetails(broker, t), configs: topicConfigs(broker, t) };
}

function rethrow(err: unknown): never {
  if (err instanceof TopicError) throw kafkaError(err.code, err.message);
  throw err;
}

export async function createTopic(broker: Broker, spec: { name: string; partitions?: number; replication_factor?: number; configs?: Record<string, string> }): Promise<TopicSummary> {
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.configs ?? {})) {
    if (!isTopicConfigName(k)) throw kafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${k}`);
    const canon = canonicalValue(k, v);
    if (isResourceError(canon)) throw kafkaError(canon.errorCode, canon.errorMessage);
    configs[k] = canon;
  }
  try {
    const t = await broker.topics.create({ name: spec.name, partitions: spec.partitions ?? -1, replicationFactor: spec.replication_factor ?? -1, configs });
    return summary(broker, t);
  } catch (err) {
    rethrow(err);
  }
}

/** Incremental: `set` overrides, `delete` removes overrides (back to the default). */
export async function alterTopicConfigs(broker: Broker, name: string, set: Record<string, string>, remove: string[]): Promise<ConfigView[]> {
  const t = topicOrThrow(broker, name);
  const changes: Record<string, string | null> = {};
  for (const k of remove) {
    if (!isTopicConfigName(k)) throw kafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${k}`);
    changes[k] = null;
  }
  for (const [k, v] of Object.entries(set)) {
    if (k in changes) throw new HttpError(400, 400, `config ${k} is both set and deleted`);
    if (!isTopicConfigName(k)) throw kafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${k}`);
    const canon = canonicalValue(k, v);
    if (isResourceError(canon)) throw kafkaError(canon.errorCode, canon.errorMessage);
    changes[k] = canon;
  }
  try {
    await broker.topics.setConfigs(t.name, changes, false);
  } catch (err) {
    rethrow(err);
  }
  return topicConfigs(broker, topicOrThrow(broker, name));
}

export async function deleteTopic(broker: Broker, name: string): Promise<void> {
  topicOrThrow(broker, name);
  if (!broker.config.deleteTopicEnable) throw kafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
  try {
    await broker.topics.delete(name);
  } catch (err) {
    rethrow(err);
  }
}
