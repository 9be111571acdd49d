import type { BrokerConfigKey } from './broker-config-schema.js';
import type { ConfigTypeName } from './config-codes.js';

/** Checks one string value; returns the canonical form or throws with a reason. */
export type TopicValueCheck = (value: string) => string;

export interface TopicConfigDef {
  name: string;
  type: ConfigTypeName;
  /** Broker key supplying the default, when the broker has one. */
  brokerKey?: BrokerConfigKey;
  /** Kafka's broker-level name for the same setting (shown as a synonym). */
  brokerName: string;
  /** Default when no broker key supplies it (Kafka's default). */
  fixedDefault?: string;
  check: TopicValueCheck;
  readOnly: boolean;
  documentation: string;
}

export const LONG_MAX = 9223372036854775807n;
const LONG_MAX_TEXT = LONG_MAX.toString();
const INT_MAX = 2147483647n;

function integer(min: bigint, max: bigint, typeName: string): TopicValueCheck {
  return (value) => {
    const s = value.trim();
    if (!/^[-+]?\d+$/.test(s)) throw new Error(`not a number of type ${typeName}`);
    const n = BigInt(s);
    if (n < min || n > max) throw new Error(`value must be in [${min}, ${max}]`);
    return n.toString();
  };
}

const long = (min: bigint) => integer(min, LONG_MAX, 'LONG');
const int = (min: bigint) => integer(min, INT_MAX, 'INT');

function gzipLevel(value: string): string {
  const n = integer(-1n, 9n, 'INT')(value);
  if (n === '0') throw new Error('value must be -1 (default) or in [1, 9]');
  return n;
}

function oneOf(values: readonly string[]): TopicValueCheck {
  return (value) => {
    const s = value.trim();
    if (!values.includes(s)) throw new Error(`must be one of ${values.join(', ')}`);
    return s;
  };
}

function bool(value: string): string {
  const s = value.trim().toLowerCase();
  if (s !== 'true' && s !== 'false') throw new Error('not a boolean (true or false)');
  return s;
}

function ratio(value: string): string {
  const s = value.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error('not a number of type DOUBLE');
  const n = Number(s);
  if (!(n >= 0 && n <= 1)) throw new Error('value must be in [0, 1]');
  return String(n);
}

// Kafka keeps the list in the order given (APPEND of compact to delete is 'delete,compact') and,
// from 4.x, accepts the empty list: neither delete nor compact, so segments are kept forever.
function cleanupPolicy(value: string): string {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const it of items) if (it !== 'delete' && it !== 'compact') throw new Error(`unknown policy '${it}' (use delete, compact, both, or none)`);
  if (new Set(items).size !== items.length) throw new Error('lists a policy twice');
  return items.join(',');
}

export const COMPRESSION_TYPES = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** The topic configs Floe supports, in DescribeConfigs order. */
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  {
    name: 'cleanup.policy', type: 'LIST', brokerName: 'log.cleanup.policy', fixedDefault: 'delete', check: cleanupPolicy, readOnly: false,
    documentation: "'delete' drops old segments by retention; 'compact' keeps the latest record per key; both may be combined.",
  },
  {
    name: 'compression.gzip.level', type: 'INT', brokerName: 'compression.gzip.level', fixedDefault: '-1', check: gzipLevel, readOnly: false,
    documentation: 'Stored and reported; Floe never recompresses, so the level is not used.',
  },
  {
    name: 'compression.lz4.level', type: 'INT', brokerName: 'compression.lz4.level', fixedDefault: '9', check: integer(1n, 17n, 'INT'), readOnly: false,
    documentation: 'Stored and reported; Floe never recompresses, so the level is not used.',
  },
  {
    name: 'compression.type', type: 'STRING', brokerName: 'compression.type', fixedDefault: 'producer', check: oneOf(COMPRESSION_TYPES), readOnly: false,
    documentation: "Stored and reported; Floe stores batches as the producer sent them ('producer' semantics) and does not recompress.",
  },
  {
    name: 'compression.zstd.level', type: 'INT', brokerName: 'compression.zstd.level', fixedDefault: '3', check: integer(-131072n, 22n, 'INT'), readOnly: false,
    documentation: 'Stored and reported; Floe never recompresses, so the level is not used.',
  },
  {
    name: 'delete.retention.ms', type: 'LONG', brokerName: 'log.cleaner.delete.retention.ms', fixedDefault: '86400000', check: long(0n), readOnly: false,
    documentation: 'How long tombstones survive compaction.',
  },
  {
    name: 'file.delete.delay.ms', type: 'LONG', brokerName: 'log.segment.delete.delay.ms', fixedDefault: '60000', check: long(0n), readOnly: false,
    documentation: 'Delay before a deleted segment file is unlinked, so in-flight reads can finish.',
  },
  {
    name: 'flush.messages', type: 'LONG', brokerName: 'log.flush.interval.messages', fixedDefault: LONG_MAX_TEXT, check: long(1n), readOnly: false,
    documentation: 'Accepted for compatibility; Floe fsyncs every acknowledged batch, which is stricter than any flush interval.',
  },
  {
    name: 'flush.ms', type: 'LONG', brokerName: 'log.flush.interval.ms', fixedDefault: LONG_MAX_TEXT, check: long(0n), readOnly: false,
    documentation: 'Accepted for compatibility; Floe fsyncs every acknowledged batch, which is stricter than any flush interval.',
  },
  {
    name: 'index.interval.bytes', type: 'INT', brokerName: 'log.index.interval.bytes', fixedDefault: '4096', check: int(0n), readOnly: false,
    documentation: 'Bytes of batches between offset index entries.',
  },
  {
    name: 'max.compaction.lag.ms', type: 'LONG', brokerName: 'log.cleaner.max.compaction.lag.ms', fixedDefault: LONG_MAX_TEXT, check: long(1n), readOnly: false,
    documentation: 'Longest time a record may stay uncompacted.',
  },
  {
    name: 'max.message.bytes', type: 'INT', brokerKey: 'messageMaxBytes', brokerName: 'message.max.bytes', check: int(0n), readOnly: false,
    documentation: 'Largest record batch accepted for this topic.',
  },
  {
    name: 'message.downconversion.enable', type: 'BOOLEAN', brokerName: 'log.message.downconversion.enable', fixedDefault: 'true', check: bool, readOnly: false,
    documentation: 'Accepted for compatibility; Floe serves only v2 record batches and never down-converts.',
  },
  {
    name: 'message.timestamp.after.max.ms', type: 'LONG', brokerName: 'log.message.timestamp.after.max.ms', fixedDefault: '3600000', check: long(0n), readOnly: false,
    documentation: 'With CreateTime, reject batches whose timestamp is further than this in the future (Kafka 4 default: 1 hour).',
  },
  {
    name: 'message.timestamp.before.max.ms', type: 'LONG', brokerName: 'log.message.timestamp.before.max.ms', fixedDefault: LONG_MAX_TEXT, check: long(0n), readOnly: false,
    documentation: 'With CreateTime, reject batches whose timestamp is further than this in the past.',
  },
  {
    name: 'message.timestamp.type', type: 'STRING', brokerName: 'log.message.timestamp.type', fixedDefault: 'CreateTime', check: oneOf(['CreateTime', 'LogAppendTime']), readOnly: false,
    documentation: 'CreateTime keeps the producer timestamp; LogAppendTime stamps batches with broker time.',
  },
  {
    name: 'min.cleanable.dirty.ratio', type: 'DOUBLE', brokerName: 'log.cleaner.min.cleanable.ratio', fixedDefault: '0.5', check: ratio, readOnly: false,
    documentation: 'Compact once this fraction of the log is uncompacted.',
  },
  {
    name: 'min.compaction.lag.ms', type: 'LONG', brokerName: 'log.cleaner.min.compaction.lag.ms', fixedDefault: '0', check: long(0n), readOnly: false,
    documentation: 'Shortest time a record stays uncompacted.',
  },
  {
    name: 'min.insync.replicas', type: 'INT', brokerName: 'min.insync.replicas', fixedDefault: '1', check: int(1n), readOnly: false,
    documentation: 'Accepted for compatibility; durability comes from fsync on the shared medium, not replica counts.',
  },
  {
    name: 'preallocate', type: 'BOOLEAN', brokerName: 'log.preallocate', fixedDefault: 'false', check: bool, readOnly: false,
    documentation: 'Accepted for compatibility; Floe does not preallocate segment files.',
  },
  {
    name: 'retention.bytes', type: 'LONG', brokerKey: 'logRetentionBytes', brokerName: 'log.retention.bytes', check: long(-1n), readOnly: false,
    documentation: 'Per-partition size above which old segments are deleted (-1 = unlimited).',
  },
  {
    name: 'retention.ms', type: 'LONG', brokerKey: 'logRetentionMs', brokerName: 'log.retention.ms', check: long(-1n), readOnly: false,
    documentation: 'Age after which old segments are deleted (-1 = unlimited).',
  },
  {
    name: 'segment.bytes', type: 'INT', brokerKey: 'logSegmentBytes', brokerName: 'log.segment.bytes', check: int(14n), readOnly: false,
    documentation: 'Roll a new segment when the active one reaches this size.',
  },
  {
    name: 'segment.index.bytes', type: 'INT', brokerName: 'log.index.size.max.bytes', fixedDefault: '10485760', check: int(4n), readOnly: false,
    documentation: 'Accepted for compatibility; Floe sizes its sparse indexes itself.',
  },
  {
    name: 'segment.jitter.ms', type: 'LONG', brokerName: 'log.roll.jitter.ms', fixedDefault: '0', check: long(0n), readOnly: false,
    documentation: 'Accepted for compatibility; segments roll exactly at segment.ms.',
  },
  {
    name: 'segment.ms', type: 'LONG', brokerKey: 'logSegmentMs', brokerName: 'log.roll.ms', check: long(1n), readOnly: false,
    documentation: 'Roll a new segment when the active one is older than this.',
  },
  {
    name: 'unclean.leader.election.enable', type: 'BOOLEAN', brokerName: 'unclean.leader.election.enable', fixedDefault: 'false', check: bool, readOnly: false,
    documentation: 'Accepted for compatibility; with shared storage every lease holder sees all durable data.',
  },
];

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));
