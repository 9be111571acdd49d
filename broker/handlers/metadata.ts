import { readMetadataRequest, writeMetadataResponse, type MetadataRequest, type MetadataResponse, type MetadataResponseMetadataResponseTopic } from '../protocol/generated/metadata.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { TopicRecord } from '../cluster/control-store.js';
import { validateTopicName } from '../core/topics.js';
import type { Broker } from '../core/broker.js';
import { defineHandler } from './types.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function topicMetadata(broker: Broker, t: TopicRecord): Input<MetadataResponseMetadataResponseTopic> {
  const node = broker.nodeId;
  const cluster = broker.cluster;
  if (cluster) {
    // Every live broker can serve any partition from the shared medium: all are replicas and in sync.
    const all = cluster.liveBrokers().map((b) => b.nodeId);
    return {
      errorCode: ErrorCode.NONE,
      name: t.name,
      topicId: t.topicId,
      isInternal: t.name.startsWith('__'),
      partitions: Array.from({ length: t.partitions }, (_, p) => {
        const { leaderId, leaderEpoch } = cluster.leaderOf(t.name, p);
        return {
          errorCode: leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
          partitionIndex: p,
          leaderId,
          leaderEpoch,
          replicaNodes: all,
          isrNodes: all,
          offlineReplicas: [],
        };
      }),
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: t.name.startsWith('__'),
    partitions: Array.from({ length: t.partitions }, (_, p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: node,
      leaderEpoch: t.leaderEpochs[p] ?? 0,
      replicaNodes: [node],
      isrNodes: [node],
      offlineReplicas: [],
    })),
  };
}

export default defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: 3,
  minVersion: 0,
  maxVersion: 12,
  read: readMetadataRequest,
  write: writeMetadataResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const topics: Input<MetadataResponseMetadataResponseTopic>[] = [];
    // v0 with an empty list, and null from v1, mean "all topics".
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    if (all) {
      for (const t of broker.topics.list()) topics.push(topicMetadata(broker, t));
    } else {
      const autoCreate = ctx.apiVersion < 4 || req.allowAutoTopicCreation;
      for (const rt of req.topics!) {
        if (rt.topicId !== ZERO_UUID && (rt.name === null || rt.name === '')) {
          const t = broker.topics.byId(rt.topicId);
          // The response name is nullable only from v12; older versions get ''.
          topics.push(t ? topicMetadata(broker, t) : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: ctx.apiVersion >= 12 ? null : '', topicId: rt.topicId, partitions: [] });
          continue;
        }
        if (rt.name === null) {
          topics.push({ errorCode: ErrorCode.INVALID_REQUEST, name: ctx.apiVersion >= 12 ? null : '', partitions: [] });
          continue;
        }
        const invalid = validateTopicName(rt.name);
        if (invalid) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: rt.name, partitions: [] });
          continue;
        }
        let t = broker.topics.get(rt.name);
        if (!t && autoCreate) {
          try {
            t = await broker.topics.ensure(rt.name);
          } catch (err) {
            ctx.log.warn({ err, topic: rt.name }, 'auto-create failed');
          }
        }
        topics.push(t ? topicMetadata(broker, t) : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: rt.name, partitions: [] });
      }
    }
    const { host, port } = broker.advertised;
    const brokers = broker.cluster ? broker.cluster.liveBrokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })) : [{ nodeId: broker.nodeId, host, port, rack: null }];
    return {
      throttleTimeMs: 0,
      brokers,
      clusterId: broker.clusterId,
      // Any broker can administer the cluster (the store serializes), so each names itself.
      controllerId: broker.nodeId,
      topics,
      clusterAuthorizedOperations: -2147483648,
    };
  },
});
