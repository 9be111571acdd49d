import { parseBoolean, parseInteger, parseNonEmptyString, show } from './value-parsers.js';
import { parseConnectionOverrides } from './connection-overrides.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every broker setting; see BROKER_CONFIG_SPECS for defaults and ranges. */
export interface BrokerConfigValues {
  dataDir: string;
  kafkaHost: string;
  kafkaPort: number;
  /** Host put in Metadata/FindCoordinator responses. Never 'localhost' or a wildcard. */
  advertisedHost: string;
  /** 0 means "the port the listener actually bound" (see advertisedAddress()). */
  advertisedPort: number;
  httpHost: string;
  httpPort: number;
  nodeId: number;
  /** Only when the operator pins it; the lead generates and persists one otherwise. */
  clusterId: string | undefined;
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopics: boolean;
  logRetentionMs: number;
  logRetentionBytes: number;
  logSegmentBytes: number;
  logSegmentMs: number;
  messageMaxBytes: number;
  socketRequestMaxBytes: number;
  /** -1 or 0 disables idle closing. */
  connectionsMaxIdleMs: number;
  groupInitialRebalanceDelayMs: number;
  /** JoinGroup session timeouts outside [min, max] get INVALID_SESSION_TIMEOUT. */
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  offsetsRetentionMinutes: number;
  logLevel: LogLevel;
  logCleanerIntervalMs: number;
  logRetentionCheckIntervalMs: number;
  deleteTopicEnable: boolean;
  /** 'local' or a postgres:// / postgresql:// URL. */
  control: string;
  /** Cluster mode: how long a lease or broker registration lives without renewal (PostgreSQL clock). */
  leaseTtlMs: number;
  /** Cluster mode: lease renewal period; undefined means leaseTtlMs / 4. */
  heartbeatMs: number | undefined;
  /** Require an API token on the HTTP API (off only for local use). */
  httpAuth: boolean;
  /** Accepted HTTP API tokens, comma-separated; default: <data>/api-token, generated on first start. */
  apiTokens: string | undefined;
  /** Bytes of partial and unanswered request frames over all connections; -1 = unbounded. */
  queuedMaxRequestBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** 'ip:limit,...' (see parseConnectionOverrides). */
  maxConnectionsPerIpOverrides: string;
  /** A request whose first byte arrived must be complete within this; <= 0 disables. */
  requestReceiveTimeoutMs: number;
  /** Partitions this broker holds over all topics. */
  maxPartitions: number;
}

export type BrokerConfigKey = keyof BrokerConfigValues;

export interface KeySpec<T> {
  /** Used when no source sets the key; undefined means derived or unset. */
  default: T | undefined;
  parse(raw: unknown): T;
  doc: string;
  /** Placeholder shown in CLI help, e.g. '<ms>'. */
  valueName: string;
  /** Extra names accepted in files (Kafka's own property names first). */
  aliases?: readonly string[];
}

const INT32_MAX = 2 ** 31 - 1;
const LONG_MAX = Number.MAX_SAFE_INTEGER;
const DAY_MS = 24 * 60 * 60 * 1000;

const int = (min: number, max: number) => (raw: unknown) => parseInteger(raw, min, max);
const bool = (raw: unknown) => parseBoolean(raw);

function host(raw: unknown): string {
  const s = parseNonEmptyString(raw);
  if (/[\s/]/.test(s)) throw new Error(`${show(raw)} is not a host name or address`);
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

function logLevel(raw: unknown): LogLevel {
  const s = parseNonEmptyString(raw).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(s)) throw new Error(`${show(raw)} is not one of ${LOG_LEVELS.join(', ')}`);
  return s as LogLevel;
}

function control(raw: unknown): string {
  const s = parseNonEmptyString(raw);
  if (s === 'local') return s;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new Error(`${show(raw)} is neither 'local' nor a postgres:// URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`unsupported control store scheme '${url.protocol}' (use 'local' or postgres://...)`);
  }
  return s;
}

function clusterId(raw: unknown): string {
  const s = parseNonEmptyString(raw);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(s)) throw new Error(`${show(raw)} must be 1-64 characters of [A-Za-z0-9._-]`);
  return s;
}

export const BROKER_CONFIG_SPECS: { readonly [K in BrokerConfigKey]: KeySpec<BrokerConfigValues[K]> } = {
  dataDir: {
    default: './data',
    parse: parseNonEmptyString,
    doc: 'Directory (or shared mount) holding topics, segments and local control state.',
    valueName: '<path>',
    aliases: ['log.dirs', 'log.dir'],
  },
  kafkaHost: { default: '127.0.0.1', parse: host, doc: 'Address the Kafka listener binds.', valueName: '<host>' },
  kafkaPort: { default: 9092, parse: int(0, 65535), doc: 'Port the Kafka listener binds (0 = ephemeral).', valueName: '<port>' },
  advertisedHost: {
    default: undefined,
    parse: host,
    doc: 'Host returned to clients in metadata (default: the bind address, or the first non-internal IPv4 when binding a wildcard).',
    valueName: '<host>',
  },
  advertisedPort: {
    default: undefined,
    parse: int(0, 65535),
    doc: 'Port returned to clients in metadata (default: the bound Kafka port).',
    valueName: '<port>',
  },
  httpHost: { default: '127.0.0.1', parse: host, doc: 'Address the HTTP API binds.', valueName: '<host>' },
  httpPort: { default: 8080, parse: int(0, 65535), doc: 'Port the HTTP API binds (0 = ephemeral).', valueName: '<port>' },
  nodeId: { default: 0, parse: int(0, INT32_MAX), doc: 'This broker\'s id, unique in the cluster.', valueName: '<id>', aliases: ['broker.id'] },
  clusterId: { default: undefined, parse: clusterId, doc: 'Pin the cluster id (normally generated once and persisted).', valueName: '<id>' },
  numPartitions: { default: 1, parse: int(1, INT32_MAX), doc: 'Partitions of auto-created topics and CreateTopics without a count.', valueName: '<n>' },
  defaultReplicationFactor: {
    default: 1,
    parse: int(1, 32767),
    doc: 'Replication factor reported for auto-created topics (storage is shared, so no copies are made).',
    valueName: '<n>',
  },
  autoCreateTopics: {
    default: true,
    parse: bool,
    doc: 'Create unknown topics on Metadata/Produce requests.',
    valueName: '<bool>',
    aliases: ['auto.create.topics.enable'],
  },
  logRetentionMs: { default: 7 * DAY_MS, parse: int(-1, LONG_MAX), doc: 'Default retention.ms (-1 = unlimited).', valueName: '<ms>' },
  logRetentionBytes: { default: -1, parse: int(-1, LONG_MAX), doc: 'Default retention.bytes per partition (-1 = unlimited).', valueName: '<bytes>' },
  logSegmentBytes: { default: 1024 ** 3, parse: int(14, INT32_MAX), doc: 'Default segment.bytes.', valueName: '<bytes>' },
  logSegmentMs: { default: 7 * DAY_MS, parse: int(1, LONG_MAX), doc: 'Default segment.ms (roll a segment after this age).', valueName: '<ms>', aliases: ['log.roll.ms'] },
  messageMaxBytes: { default: 1048588, parse: int(0, INT32_MAX), doc: 'Default max.message.bytes (largest record batch).', valueName: '<bytes>' },
  socketRequestMaxBytes: { default: 104857600, parse: int(1, INT32_MAX), doc: 'Largest request frame accepted; bigger ones close the connection.', valueName: '<bytes>' },
  connectionsMaxIdleMs: { default: 600000, parse: int(-1, LONG_MAX), doc: 'Close connections idle this long (-1 or 0 = never).', valueName: '<ms>' },
  groupInitialRebalanceDelayMs: {
    default: 3000,
    parse: int(0, INT32_MAX),
    doc: 'Wait this long for more members before the first rebalance of an empty group.',
    valueName: '<ms>',
  },
  groupMinSessionTimeoutMs: {
    default: 6000,
    parse: int(0, INT32_MAX),
    doc: 'Shortest session timeout a consumer group member may ask for (group.min.session.timeout.ms).',
    valueName: '<ms>',
  },
  groupMaxSessionTimeoutMs: {
    default: 1800000,
    parse: int(0, INT32_MAX),
    doc: 'Longest session timeout a consumer group member may ask for (group.max.session.timeout.ms).',
    valueName: '<ms>',
  },
  offsetsRetentionMinutes: { default: 10080, parse: int(1, INT32_MAX), doc: 'Keep committed offsets of empty groups this long.', valueName: '<minutes>' },
  logLevel: { default: 'info', parse: logLevel, doc: `Log level (${LOG_LEVELS.join(', ')}).`, valueName: '<level>' },
  logCleanerIntervalMs: {
    default: 15000,
    parse: int(1, LONG_MAX),
    doc: 'How often the compaction cleaner looks for work.',
    valueName: '<ms>',
    aliases: ['log.cleaner.backoff.ms'],
  },
  logRetentionCheckIntervalMs: { default: 300000, parse: int(1, LONG_MAX), doc: 'How often retention is enforced.', valueName: '<ms>' },
  deleteTopicEnable: { default: true, parse: bool, doc: 'Allow DeleteTopics.', valueName: '<bool>' },
  control: {
    default: 'local',
    parse: control,
    doc: "Control store: 'local' (single node) or a postgres:// URL (cluster).",
    valueName: '<local|url>',
  },
  leaseTtlMs: {
    default: 6000,
    parse: int(200, INT32_MAX),
    doc: 'Cluster mode: lease and registration lifetime without renewal; a dead broker\'s partitions move after this.',
    valueName: '<ms>',
  },
  heartbeatMs: { default: undefined, parse: int(1, INT32_MAX), doc: 'Cluster mode: lease renewal period (default: lease TTL / 4).', valueName: '<ms>' },
  httpAuth: { default: true, parse: bool, doc: 'Require a bearer token on the HTTP API (on|off; off only for local use).', valueName: '<on|off>' },
  apiTokens: { default: undefined, parse: parseNonEmptyString, doc: 'Comma-separated HTTP API tokens (default: <data-dir>/api-token, generated on first start).', valueName: '<tokens>' },
  // Kafka's default is -1 (unbounded); ~41 clients holding 100 MiB partial frames would then take 4 GiB.
  queuedMaxRequestBytes: {
    default: 512 * 1024 * 1024,
    parse: (raw) => {
      const n = parseInteger(raw, -1, LONG_MAX);
      if (n === 0) throw new Error('0 would stop all reading (use -1 for unbounded)');
      return n;
    },
    doc: 'Bytes of partial and unanswered request frames held over all connections (-1 = unbounded); above it the broker stops reading sockets.',
    valueName: '<bytes>',
  },
  maxConnections: { default: INT32_MAX, parse: int(0, INT32_MAX), doc: 'Kafka connections accepted at once; more are closed at accept.', valueName: '<n>' },
  maxConnectionsPerIp: { default: INT32_MAX, parse: int(0, INT32_MAX), doc: 'Kafka connections accepted at once from one IP address; more are closed at accept.', valueName: '<n>' },
  maxConnectionsPerIpOverrides: {
    default: '',
    parse: (raw) => {
      parseConnectionOverrides(raw);
      return typeof raw === 'string' ? raw.trim() : '';
    },
    doc: 'Per-IP exceptions to max.connections.per.ip, e.g. "127.0.0.1:200,10.0.0.5:50" (IP literals only).',
    valueName: '<ip:n,...>',
  },
  requestReceiveTimeoutMs: {
    default: 30_000,
    parse: int(-1, LONG_MAX),
    doc: 'Close a connection whose request is not complete this long after its first byte (a trickle keeps connections.max.idle.ms from firing). -1 or 0 = never.',
    valueName: '<ms>',
    aliases: ['floe.request.receive.timeout.ms'],
  },
  maxPartitions: {
    default: 100_000,
    parse: int(1, INT32_MAX),
    doc: 'Partitions this broker holds over all topics; CreateTopics/CreatePartitions beyond it fail with POLICY_VIOLATION.',
    valueName: '<n>',
    aliases: ['floe.max.partitions'],
  },
};

export const BROKER_CONFIG_KEYS = Object.keys(BROKER_CONFIG_SPECS) as BrokerConfigKey[];

/** Unit-converting Kafka names: the most precise one set in a source wins, like Kafka. */
export const SCALED_ALIASES: ReadonlyArray<{ name: string; key: BrokerConfigKey; scale: number; rank: number }> = [
  { name: 'log.retention.hours', key: 'logRetentionMs', scale: 3_600_000, rank: 1 },
  { name: 'log.retention.minutes', key: 'logRetentionMs', scale: 60_000, rank: 2 },
  { name: 'log.roll.hours', key: 'logSegmentMs', scale: 3_600_000, rank: 1 },
];

/** host:port shorthands; each sets two keys. Kafka's `listeners` lists are accepted too. */
export const LISTEN_SHORTHANDS: ReadonlyArray<{ name: string; hostKey: BrokerConfigKey; portKey: BrokerConfigKey; aliases: readonly string[] }> = [
  { name: 'kafkaListen', hostKey: 'kafkaHost', portKey: 'kafkaPort', aliases: ['listeners'] },
  { name: 'advertisedListen', hostKey: 'advertisedHost', portKey: 'advertisedPort', aliases: ['advertised.listeners'] },
  { name: 'httpListen', hostKey: 'httpHost', portKey: 'httpPort', aliases: [] },
];
