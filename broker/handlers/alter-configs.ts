import { readAlterConfigsRequest, writeAlterConfigsResponse, type AlterConfigsRequest, type AlterConfigsRequestAlterConfigsResource, type AlterConfigsResponse, type AlterConfigsResponseAlterConfigsResourceResponse } from '../protocol/generated/alter-configs.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { TopicError } from '../core/topics.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { canonicalValue, checkBrokerName, duplicateKeys, duplicateResources, findTopic, isResourceError, resourceError, resourceKey, RESOURCE_BROKER, RESOURCE_TOPIC, STATIC_BROKER_MESSAGE, unsupportedResource, type ResourceError } from './config-resource.js';

type Result = Input<AlterConfigsResponseAlterConfigsResourceResponse>;

const OK: ResourceError = { errorCode: ErrorCode.NONE, errorMessage: '' };

/** Legacy AlterConfigs: the request's configs become the resource's whole override set. */
async function alter(res: AlterConfigsRequestAlterConfigsResource, validateOnly: boolean, ctx: RequestContext): Promise<ResourceError> {
  const { broker } = ctx;
  const nulls = res.configs.filter((c) => c.value === null).map((c) => c.name);
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
  const next: Record<string, string> = {};
  for (const c of res.configs) {
    const v = canonicalValue(c.name, c.value!);
    if (isResourceError(v)) return v;
    next[c.name] = v;
  }
  try {
    await broker.topics.setConfigs(topic.name, next, true, validateOnly);
    return OK;
  } catch (err) {
    if (err instanceof TopicError) return resourceError(err.code, err.message);
    ctx.log.error({ err, topic: topic.name }, 'alter configs failed');
    return resourceError(ErrorCode.UNKNOWN_SERVER_ERROR, (err as Error).message);
  }
}

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  read: readAlterConfigsRequest,
  write: writeAlterConfigsResponse,
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
