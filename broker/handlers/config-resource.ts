// Shared checks for the config APIs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs).
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { validateTopicName } from '../core/topics.js';
import type { TopicRecord } from '../cluster/control-store.js';
import type { Broker } from '../core/broker.js';
import { normalizeTopicConfigValue, TOPIC_CONFIG_DEFS } from '../config/topic-config.js';
import { ConfigError } from '../config/config-error.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

export const STATIC_BROKER_MESSAGE = 'broker configs are static in Floe';

/** A resource-level failure: the error code and message put in the response. */
export interface ResourceError {
  errorCode: number;
  errorMessage: string;
}

export function resourceError(errorCode: number, errorMessage: string): ResourceError {
  return { errorCode, errorMessage };
}

/** The broker resource names this node: its id, or '' for the cluster-wide default. */
export function checkBrokerName(broker: Broker, name: string): ResourceError | null {
  if (name === '') return null;
  if (!/^-?\d+$/.test(name)) return resourceError(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
  if (Number(name) !== broker.nodeId) {
    return resourceError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${name}`);
  }
  return null;
}

export function findTopic(broker: Broker, name: string): TopicRecord | ResourceError {
  const bad = validateTopicName(name);
  if (bad) return resourceError(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
  const t = broker.topics.get(name);
  if (!t) return resourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
  return t;
}

export function isResourceError(x: unknown): x is ResourceError {
  return typeof x === 'object' && x !== null && 'errorCode' in x && 'errorMessage' in x;
}

export function unsupportedResource(type: number): ResourceError {
  return resourceError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${type}: Floe serves configs of TOPIC (2) and BROKER (4) resources`);
}

/** Keys of resources named more than once in one request ("type/name"). */
export function duplicateResources(resources: ReadonlyArray<{ resourceType: number; resourceName: string }>): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of resources) {
    const k = resourceKey(r);
    if (seen.has(k)) dup.add(k);
    seen.add(k);
  }
  return dup;
}

export function resourceKey(r: { resourceType: number; resourceName: string }): string {
  return `${r.resourceType}/${r.resourceName}`;
}

export function duplicateKeys(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    seen.add(n);
  }
  return [...dup];
}

export function isListConfig(name: string): boolean {
  return TOPIC_CONFIG_DEFS.some((d) => d.name === name && d.type === 'LIST');
}

export function isReadOnlyConfig(name: string): boolean {
  return TOPIC_CONFIG_DEFS.some((d) => d.name === name && d.readOnly);
}

/** Validates and canonicalizes one topic config value (stored in canonical form). */
export function canonicalValue(name: string, value: string): string | ResourceError {
  if (isReadOnlyConfig(name)) return resourceError(ErrorCode.INVALID_CONFIG, `Cannot alter read-only config ${name}`);
  try {
    return normalizeTopicConfigValue(name, value);
  } catch (err) {
    if (err instanceof ConfigError) return resourceError(ErrorCode.INVALID_CONFIG, err.message);
    throw err;
  }
}
