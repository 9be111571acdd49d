export {
  advertisedAddress,
  defaultBrokerConfig,
  loadBrokerConfig,
  type BrokerConfig,
  type BrokerConfigKey,
  type BrokerConfigValues,
  type ConfigOrigin,
  type LoadBrokerConfigOptions,
  type LogLevel,
} from './broker-config.js';
export { BROKER_CONFIG_KEYS, BROKER_CONFIG_SPECS, LOG_LEVELS } from './broker-config-schema.js';
export { describeBrokerConfig } from './broker-config-entries.js';
export { brokerFlagSpecs, configKeyToFlag, flagToConfigKey, type BrokerFlagSpec } from './cli-flags.js';
export { ConfigError } from './config-error.js';
export {
  CONFIG_RESOURCE_TYPE,
  configSourceId,
  configTypeId,
  type ConfigEntry,
  type ConfigSourceName,
  type ConfigSynonym,
  type ConfigTypeName,
} from './config-codes.js';
export { parseProperties } from './properties-file.js';
export { resolveAdvertisedHost } from './advertised-host.js';
export {
  describeTopicConfig,
  isTopicConfigName,
  normalizeTopicConfigValue,
  toLogConfig,
  TOPIC_CONFIG_NAMES,
  validateTopicConfig,
  type CleanupPolicy,
  type TimestampType,
  type TopicLogConfig,
} from './topic-config.js';
export { normalizeIp, parseConnectionOverrides } from './connection-overrides.js';
