import { advertisedAddress, type BrokerConfig } from './broker-config.js';
import { BROKER_CONFIG_SPECS, type BrokerConfigKey } from './broker-config-schema.js';
import type { ConfigEntry, ConfigSourceName, ConfigTypeName } from './config-codes.js';
import { TOPIC_CONFIG_DEFS } from './topic-config-defs.js';

/** Kafka's name and type for each broker key shown on the BROKER resource. */
const BROKER_ENTRY_NAMES: ReadonlyArray<{ name: string; key: BrokerConfigKey; type: ConfigTypeName; sensitive?: boolean }> = [
  { name: 'node.id', key: 'nodeId', type: 'INT' },
  { name: 'broker.id', key: 'nodeId', type: 'INT' },
  { name: 'log.dirs', key: 'dataDir', type: 'STRING' },
  { name: 'num.partitions', key: 'numPartitions', type: 'INT' },
  { name: 'default.replication.factor', key: 'defaultReplicationFactor', type: 'INT' },
  { name: 'auto.create.topics.enable', key: 'autoCreateTopics', type: 'BOOLEAN' },
  { name: 'delete.topic.enable', key: 'deleteTopicEnable', type: 'BOOLEAN' },
  { name: 'log.retention.ms', key: 'logRetentionMs', type: 'LONG' },
  { name: 'log.retention.bytes', key: 'logRetentionBytes', type: 'LONG' },
  { name: 'log.segment.bytes', key: 'logSegmentBytes', type: 'INT' },
  { name: 'log.roll.ms', key: 'logSegmentMs', type: 'LONG' },
  { name: 'message.max.bytes', key: 'messageMaxBytes', type: 'INT' },
  { name: 'socket.request.max.bytes', key: 'socketRequestMaxBytes', type: 'INT' },
  { name: 'connections.max.idle.ms', key: 'connectionsMaxIdleMs', type: 'LONG' },
  { name: 'group.initial.rebalance.delay.ms', key: 'groupInitialRebalanceDelayMs', type: 'INT' },
  { name: 'group.min.session.timeout.ms', key: 'groupMinSessionTimeoutMs', type: 'INT' },
  { name: 'group.max.session.timeout.ms', key: 'groupMaxSessionTimeoutMs', type: 'INT' },
  { name: 'offsets.retention.minutes', key: 'offsetsRetentionMinutes', type: 'INT' },
  { name: 'log.retention.check.interval.ms', key: 'logRetentionCheckIntervalMs', type: 'LONG' },
  { name: 'log.cleaner.backoff.ms', key: 'logCleanerIntervalMs', type: 'LONG' },
  { name: 'http.host', key: 'httpHost', type: 'STRING' },
  { name: 'http.port', key: 'httpPort', type: 'INT' },
  { name: 'log.level', key: 'logLevel', type: 'STRING' },
  // May carry a database password.
  { name: 'control', key: 'control', type: 'PASSWORD', sensitive: true },
  { name: 'queued.max.request.bytes', key: 'queuedMaxRequestBytes', type: 'LONG' },
  { name: 'max.connections', key: 'maxConnections', type: 'INT' },
  { name: 'max.connections.per.ip', key: 'maxConnectionsPerIp', type: 'INT' },
  { name: 'max.connections.per.ip.overrides', key: 'maxConnectionsPerIpOverrides', type: 'STRING' },
  { name: 'floe.request.receive.timeout.ms', key: 'requestReceiveTimeoutMs', type: 'LONG' },
  { name: 'floe.max.partitions', key: 'maxPartitions', type: 'INT' },
];

function sourceOf(config: BrokerConfig, key: BrokerConfigKey): ConfigSourceName {
  const origin = config.sources?.[key] ?? 'default';
  return origin === 'default' || origin === 'derived' ? 'DEFAULT_CONFIG' : 'STATIC_BROKER_CONFIG';
}

/** A listener is one setting made of two keys: operator-set when either of them is. */
function sourceOfAny(config: BrokerConfig, keys: readonly BrokerConfigKey[]): ConfigSourceName {
  return keys.some((k) => sourceOf(config, k) === 'STATIC_BROKER_CONFIG') ? 'STATIC_BROKER_CONFIG' : 'DEFAULT_CONFIG';
}

function entry(name: string, value: string | null, source: ConfigSourceName, type: ConfigTypeName, documentation: string, isSensitive = false): ConfigEntry {
  // Floe has no dynamic broker configs, so everything on the broker resource is read-only.
  return { name, value, source, isSensitive, readOnly: true, type, documentation, synonyms: [{ name, value, source }] };
}

/**
 * DescribeConfigs entries for the BROKER resource, built from the loaded config. `boundPort`
 * fills in the listener ports when the config asked for an ephemeral one.
 */
export function describeBrokerConfig(
  config: BrokerConfig,
  opts: { boundPort?: number; names?: readonly string[] | null } = {},
): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  const listenPort = config.kafkaPort === 0 && opts.boundPort !== undefined ? opts.boundPort : config.kafkaPort;
  const adv = advertisedAddress(config, opts.boundPort ?? config.kafkaPort);
  const bracket = (h: string): string => (h.includes(':') ? `[${h}]` : h);
  out.push(
    entry('listeners', `PLAINTEXT://${bracket(config.kafkaHost)}:${listenPort}`, sourceOfAny(config, ['kafkaHost', 'kafkaPort']), 'LIST', BROKER_CONFIG_SPECS.kafkaHost.doc),
    entry(
      'advertised.listeners',
      `PLAINTEXT://${bracket(adv.host)}:${adv.port}`,
      sourceOfAny(config, ['advertisedHost', 'advertisedPort']),
      'LIST',
      BROKER_CONFIG_SPECS.advertisedHost.doc,
    ),
  );
  for (const e of BROKER_ENTRY_NAMES) {
    const v = config[e.key];
    out.push(entry(e.name, e.sensitive ? null : v === undefined ? null : String(v), sourceOf(config, e.key), e.type, BROKER_CONFIG_SPECS[e.key].doc, e.sensitive));
  }
  if (config.clusterId !== undefined) {
    out.push(entry('cluster.id', config.clusterId, sourceOf(config, 'clusterId'), 'STRING', BROKER_CONFIG_SPECS.clusterId.doc));
  }
  // Broker-wide defaults of topic configs that have no Floe broker key.
  const shown = new Set(out.map((e) => e.name));
  for (const def of TOPIC_CONFIG_DEFS) {
    if (def.brokerKey !== undefined || shown.has(def.brokerName)) continue;
    shown.add(def.brokerName);
    out.push(entry(def.brokerName, def.fixedDefault ?? null, 'DEFAULT_CONFIG', def.type, def.documentation));
  }
  if (opts.names == null) return out;
  const wanted = new Set(opts.names);
  return out.filter((e) => wanted.has(e.name));
}
