import { readDescribeConfigsRequest, writeDescribeConfigsResponse, type DescribeConfigsRequest, type DescribeConfigsRequestDescribeConfigsResource, type DescribeConfigsResponse, type DescribeConfigsResponseDescribeConfigsResourceResult, type DescribeConfigsResponseDescribeConfigsResult } from '../protocol/generated/describe-configs.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { configSourceId, configTypeId, describeTopicConfig, type ConfigEntry } from '../config/topic-config.js';
import { describeBrokerConfig } from '../config/broker-config-entries.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { checkBrokerName, findTopic, isResourceError, RESOURCE_BROKER, RESOURCE_TOPIC, unsupportedResource } from './config-resource.js';

type Result = Input<DescribeConfigsResponseDescribeConfigsResult>;
type Entry = Input<DescribeConfigsResponseDescribeConfigsResourceResult>;

interface Options {
  synonyms: boolean;
  documentation: boolean;
}

function toWire(e: ConfigEntry, opts: Options): Entry {
  return {
    name: e.name,
    value: e.isSensitive ? null : e.value,
    readOnly: e.readOnly,
    isDefault: e.source === 'DEFAULT_CONFIG',
    configSource: configSourceId(e.source),
    isSensitive: e.isSensitive,
    synonyms: opts.synonyms ? e.synonyms.map((s) => ({ name: s.name, value: e.isSensitive ? null : s.value, source: configSourceId(s.source) })) : [],
    configType: configTypeId(e.type),
    documentation: opts.documentation ? e.documentation : null,
  };
}

function describe(res: DescribeConfigsRequestDescribeConfigsResource, opts: Options, ctx: RequestContext): Result {
  const { broker } = ctx;
  const base: Result = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: res.resourceType, resourceName: res.resourceName, configs: [] };
  // configurationKeys null = every config; unknown names are skipped, as Kafka does.
  const names = res.configurationKeys;
  let entries: ConfigEntry[];
  if (res.resourceType === RESOURCE_TOPIC) {
    const topic = findTopic(broker, res.resourceName);
    if (isResourceError(topic)) return { ...base, ...topic };
    entries = describeTopicConfig(topic.configs, broker.config, names);
  } else if (res.resourceType === RESOURCE_BROKER) {
    const bad = checkBrokerName(broker, res.resourceName);
    if (bad) return { ...base, ...bad };
    entries = describeBrokerConfig(broker.config, { names });
  } else {
    return { ...base, ...unsupportedResource(res.resourceType) };
  }
  return { ...base, configs: entries.map((e) => toWire(e, opts)) };
}

export default defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  apiKey: 32,
  minVersion: 1,
  maxVersion: 4,
  read: readDescribeConfigsRequest,
  write: writeDescribeConfigsResponse,
  handle(req, ctx) {
    const opts: Options = { synonyms: req.includeSynonyms, documentation: req.includeDocumentation };
    return { throttleTimeMs: 0, results: req.resources.map((r) => describe(r, opts, ctx)) };
  },
});
