import type { BrokerConfig } from './broker-config.js';
import { BROKER_CONFIG_SPECS, type BrokerConfigKey } from './broker-config-schema.js';
import { type ConfigEntry, type ConfigSourceName, type ConfigSynonym } from './config-codes.js';
import { ConfigError } from './config-error.js';
import { TOPIC_CONFIG_BY_NAME, TOPIC_CONFIG_DEFS, type TopicConfigDef } from './topic-config-defs.js';

export { configSourceId, configTypeId, type ConfigEntry, type ConfigSourceName, type ConfigTypeName } from './config-codes.js';
export { COMPRESSION_TYPES, TOPIC_CONFIG_DEFS } from './topic-config-defs.js';

/** '' (Kafka 4.x) = neither: no retention deletion and no compaction. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete' | 'delete,compact' | '';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** The per-partition log settings derived from topic overrides and broker defaults. */
export interface TopicLogConfig {
  segmentBytes: number;
  segmentMs: number;
  /** -1 = unlimited. */
  retentionMs: number;
  /** -1 = unlimited. */
  retentionBytes: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  timestampType: TimestampType;
  fileDeleteDelayMs: number;
  cleanupPolicy: CleanupPolicy;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  /** Infinity when set to Long.MAX_VALUE (the default). */
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
  /** Infinity when set to Long.MAX_VALUE (the "no limit" default). */
  messageTimestampBeforeMaxMs: number;
  /** Infinity when above Number.MAX_SAFE_INTEGER. */
  messageTimestampAfterMaxMs: number;
}

export const TOPIC_CONFIG_NAMES: readonly string[] = TOPIC_CONFIG_DEFS.map((d) => d.name);

export function isTopicConfigName(name: string): boolean {
  return TOPIC_CONFIG_BY_NAME.has(name);
}

/** Error message for a bad topic config (unknown name or bad value), or null when valid. */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (def === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return `Invalid value null for configuration ${name}`;
  try {
    def.check(value);
    return null;
  } catch (err) {
    return `Invalid value ${value} for configuration ${name}: ${(err as Error).message}`;
  }
}

/** Canonical stored form of a valid value (list items trimmed, order kept). Throws ConfigError. */
export function normalizeTopicConfigValue(name: string, value: string): string {
  const def = TOPIC_CONFIG_BY_NAME.get(name);
  if (def === undefined) throw new ConfigError(name, `Unknown topic config name: ${name}`);
  try {
    return def.check(value);
  } catch (err) {
    throw new ConfigError(name, `Invalid value ${value} for configuration ${name}: ${(err as Error).message}`);
  }
}

function brokerDefault(def: TopicConfigDef, broker: BrokerConfig): { value: string; source: ConfigSourceName } {
  if (def.brokerKey === undefined) return { value: def.fixedDefault!, source: 'DEFAULT_CONFIG' };
  const origin = broker.sources?.[def.brokerKey] ?? 'default';
  const value = String(broker[def.brokerKey]);
  return { value, source: origin === 'default' || origin === 'derived' ? 'DEFAULT_CONFIG' : 'STATIC_BROKER_CONFIG' };
}

/**
 * DescribeConfigs entries for a topic: every supported config (or just `names`), its effective
 * value and where it comes from. Unknown names in `names` are skipped; callers that must report
 * them can check isTopicConfigName().
 */
export function describeTopicConfig(
  overrides: Readonly<Record<string, string>>,
  broker: BrokerConfig,
  names?: readonly string[] | null,
): ConfigEntry[] {
  const defs = names == null ? TOPIC_CONFIG_DEFS : names.flatMap((n) => TOPIC_CONFIG_BY_NAME.get(n) ?? []);
  return defs.map((def) => {
    const fallback = brokerDefault(def, broker);
    const synonyms: ConfigSynonym[] = [];
    const override = Object.hasOwn(overrides, def.name) ? overrides[def.name] : undefined;
    if (override !== undefined) synonyms.push({ name: def.name, value: override, source: 'DYNAMIC_TOPIC_CONFIG' });
    synonyms.push({ name: def.brokerName, value: fallback.value, source: fallback.source });
    if (fallback.source === 'STATIC_BROKER_CONFIG' && def.brokerKey !== undefined) {
      const builtIn = defaultOfBrokerKey(def.brokerKey);
      if (builtIn !== undefined) synonyms.push({ name: def.brokerName, value: builtIn, source: 'DEFAULT_CONFIG' });
    }
    return {
      name: def.name,
      value: override ?? fallback.value,
      source: override !== undefined ? 'DYNAMIC_TOPIC_CONFIG' : fallback.source,
      isSensitive: false,
      readOnly: def.readOnly,
      type: def.type,
      documentation: def.documentation,
      synonyms,
    };
  });
}


function defaultOfBrokerKey(key: BrokerConfigKey): string | undefined {
  const d = BROKER_CONFIG_SPECS[key].default;
  return d === undefined ? undefined : String(d);
}

function effective(overrides: Readonly<Record<string, string>>, broker: BrokerConfig, name: string): string {
  const def = TOPIC_CONFIG_BY_NAME.get(name)!;
  const override = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
  const raw = override ?? brokerDefault(def, broker).value;
  try {
    return def.check(raw);
  } catch (err) {
    throw new ConfigError(name, `Invalid value ${raw} for configuration ${name}: ${(err as Error).message}`);
  }
}

function num(overrides: Readonly<Record<string, string>>, broker: BrokerConfig, name: string): number {
  const n = Number(effective(overrides, broker, name));
  return n > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : n;
}

/**
 * The log settings for a topic. Throws ConfigError if a stored override is invalid (values are
 * validated on write, so that means the stored state was edited by hand).
 */
export function toLogConfig(overrides: Readonly<Record<string, string>>, broker: BrokerConfig): TopicLogConfig {
  return {
    segmentBytes: num(overrides, broker, 'segment.bytes'),
    segmentMs: num(overrides, broker, 'segment.ms'),
    retentionMs: num(overrides, broker, 'retention.ms'),
    retentionBytes: num(overrides, broker, 'retention.bytes'),
    indexIntervalBytes: num(overrides, broker, 'index.interval.bytes'),
    maxMessageBytes: num(overrides, broker, 'max.message.bytes'),
    timestampType: effective(overrides, broker, 'message.timestamp.type') as TimestampType,
    fileDeleteDelayMs: num(overrides, broker, 'file.delete.delay.ms'),
    cleanupPolicy: effective(overrides, broker, 'cleanup.policy') as CleanupPolicy,
    deleteRetentionMs: num(overrides, broker, 'delete.retention.ms'),
    minCompactionLagMs: num(overrides, broker, 'min.compaction.lag.ms'),
    maxCompactionLagMs: num(overrides, broker, 'max.compaction.lag.ms'),
    minCleanableDirtyRatio: num(overrides, broker, 'min.cleanable.dirty.ratio'),
    messageTimestampBeforeMaxMs: num(overrides, broker, 'message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: num(overrides, broker, 'message.timestamp.after.max.ms'),
  };
}
