import { readIncrementalAlterConfigsRequest, writeIncrementalAlterConfigsResponse, type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsRequestAlterConfigsResource, type IncrementalAlterConfigsResponse, type IncrementalAlterConfigsResponseAlterConfigsResourceResponse } from '../protocol/generated/incremental-alter-configs.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { TopicRecord } from '../cluster/control-store.js';
import { TopicError } from '../core/topics.js';
import { describeTopicConfig, isTopicConfigName } from '../config/topic-config.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { canonicalValue, checkBrokerName, duplicateKeys, duplicateResources, findTopic, isListConfig, isResourceError, resourceError, resourceKey, RESOURCE_BROKER, RESOURCE_TOPIC, STATIC_BROKER_MESSAGE, unsupportedResource, type ResourceError } from './config-resource.js';

type Result = Input<IncrementalAlterConfigsResponseAlterConfigsResourceResponse>;

export const OP_SET = 0;
export const OP_DELETE = 1;
export const OP_APPEND = 2;
export const OP_SUBTRACT = 3;
const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

const OK: ResourceError = { errorCode: ErrorCode.NONE, errorMessage: '' };

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The override changes (null = remove the override) one resource's operations amount to. */
function changesFor(res: IncrementalAlterConfigsRequestAlterConfigsResource, topic: TopicRecord, ctx: RequestContext): Record<string, string | null> | ResourceError {
  const changes: Record<string, string | null> = {};
  for (const c of res.configs) {
    const op = c.configOperation;
    if (op === OP_DELETE) {
      // Deleting an unknown name is refused like Kafka; deleting an absent override is a no-op.
      if (!isTopicConfigName(c.name)) return resourceError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
      changes[c.name] = null;
      continue;
    }
    if (op !== OP_SET && op !== OP_APPEND && op !== OP_SUBTRACT) return resourceError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op} for ${c.name}`);
    let value = c.value!;
    if (op !== OP_SET) {
      if (!isTopicConfigName(c.name)) return resourceError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
      if (!isListConfig(c.name)) return resourceError(ErrorCode.INVALID_CONFIG, `Can't ${OP_NAMES[op]} to key ${c.name} because its type is not LIST.`);
      // The base is the current effective value: the override, else the broker default.
      const current = splitList(describeTopicConfig(topic.configs, ctx.broker.config, [c.name])[0]?.value ?? '');
      const items = splitList(value);
      const next = op === OP_APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
      value = next.join(',');
    }
    const canon = canonicalValue(c.name, value);
    if (isResourceError(canon)) return canon;
    changes[c.name] = canon;
  }
  return changes;
}

async function alter(res: IncrementalAlterConfigsRequestAlterConfigsResource, validateOnly: boolean, ctx: RequestContext): Promise<ResourceError> {
  const { broker } = ctx;
  const nulls = res.configs.filter((c) => c.configOperation !== OP_DELETE && c.value === null).map((c) => c.name);
  if (nulls.length > 0) return resourceError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.join(', ')}`);
  const dups = duplicateKeys(res.configs.map((c) => c.name));
  if (dups.length > 0) return resourceError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${dups.join(', ')}`);
  if (res.resourceType === RESOURCE_BROKER) {
    const bad = checkBrokerName(broker, res.resourceName);
    if (bad) return bad;
    return resourceError(ErrorCode.INVALID_REQUEST, STATIC_BROKER_MESSAGE);
  }
  if (res.resourceType !== RESOURCE_TOPIC) return unsupportedResource(res.resourceType);
  const topic = findTopic(broker, res.resourceName);
  if (isResourceError(topic)) return topic;
  const changes = changesFor(res, topic, ctx);
  if (isResourceError(changes)) return changes;
  try {
    await broker.topics.setConfigs(topic.name, changes, false, validateOnly);
    return OK;
  } catch (err) {
    if (err instanceof TopicError) return resourceError(err.code, err.message);
    ctx.log.error({ err, topic: topic.name }, 'incremental alter configs failed');
    return resourceError(ErrorCode.UNKNOWN_SERVER_ERROR, (err as Error).message);
  }
}

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  read: readIncrementalAlterConfigsRequest,
  write: writeIncrementalAlterConfigsResponse,
  async handle(req, ctx) {
    const dup = duplicateResources(req.resources);
    const responses: Result[] = [];
    for (const r of req.resources) {
      const out = dup.has(resourceKey(r)) ? resourceError(ErrorCode.INVALID_REQUEST, 'Duplicate resource.') : await alter(r, req.validateOnly, ctx);
      responses.push({ errorCode: out.errorCode, errorMessage: out.errorCode === ErrorCode.NONE ? null : out.errorMessage, resourceType: r.resourceType, resourceName: r.resourceName });
    }
    return { throttleTimeMs: 0, responses };
  },
});
