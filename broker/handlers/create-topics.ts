import { readCreateTopicsRequest, writeCreateTopicsResponse, type CreateTopicsRequest, type CreateTopicsResponse, type CreateTopicsResponseCreatableTopicResult } from '../protocol/generated/create-topics.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { describeTopicConfig, configSourceId } from '../config/topic-config.js';
import { clientErrorMessage, reservedTopicName, shownName, TopicError, validateTopicName } from '../core/topics.js';
import { defineHandler } from './types.js';

type Result = Input<CreateTopicsResponseCreatableTopicResult>;

export default defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: 19,
  minVersion: 2,
  maxVersion: 7,
  read: readCreateTopicsRequest,
  write: writeCreateTopicsResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics = await Promise.all(
      req.topics.map(async (t): Promise<Result> => {
        const base: Result = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: -1, replicationFactor: -1, configs: null };
        if ((seen.get(t.name) ?? 0) > 1) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Create topics request from client ${ctx.clientId} contains multiple entries for the topic ${shownName(t.name)}` };
        // Name checks first: every later message may echo the name.
        const badName = validateTopicName(t.name);
        if (badName !== null) return { ...base, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: badName };
        const reserved = reservedTopicName(t.name);
        if (reserved !== null) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reserved };
        if (t.assignments.length > 0 && (t.numPartitions !== -1 || t.replicationFactor !== -1)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.' };
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) return { ...base, errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Null value not supported for topic config ${c.name}` };
          configs[c.name] = c.value;
        }
        const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions;
        try {
          const rec = await broker.topics.create({ name: t.name, partitions, replicationFactor: t.replicationFactor, configs, validateOnly: req.validateOnly });
          return {
            ...base,
            topicId: rec.topicId,
            numPartitions: rec.partitions,
            replicationFactor: t.replicationFactor === -1 ? 1 : t.replicationFactor,
            configs: describeTopicConfig(rec.configs, broker.config).map((e) => ({
              name: e.name,
              value: e.value,
              readOnly: e.readOnly,
              configSource: configSourceId(e.source),
              isSensitive: e.isSensitive,
            })),
          };
        } catch (err) {
          if (err instanceof TopicError) return { ...base, errorCode: err.code, errorMessage: err.message };
          ctx.log.error({ err, topic: t.name }, 'create topic failed');
          return { ...base, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: clientErrorMessage(err, `Creating topic ${t.name}`) };
        }
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
