import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from '../../broker/config/broker-config.js';
import { configSourceId, configTypeId } from '../../broker/config/config-codes.js';
import { ConfigError } from '../../broker/config/config-error.js';
import {
  describeTopicConfig,
  normalizeTopicConfigValue,
  toLogConfig,
  TOPIC_CONFIG_NAMES,
  validateTopicConfig,
} from '../../broker/config/topic-config.js';

const broker = loadBrokerConfig({ env: {}, cwd: '/' });

describe('validateTopicConfig', () => {
  const valid: Array<[string, string]> = [
    ['cleanup.policy', 'delete'],
    ['cleanup.policy', 'compact'],
    ['cleanup.policy', 'delete, compact'],
    ['retention.ms', '-1'],
    ['retention.bytes', '1073741824'],
    ['segment.bytes', '14'],
    ['segment.ms', '1'],
    ['max.message.bytes', '2147483647'],
    ['message.timestamp.type', 'LogAppendTime'],
    ['message.timestamp.before.max.ms', '9223372036854775807'],
    ['message.timestamp.after.max.ms', '0'],
    ['delete.retention.ms', '0'],
    ['min.compaction.lag.ms', '100'],
    ['max.compaction.lag.ms', '1'],
    ['min.cleanable.dirty.ratio', '0.01'],
    ['segment.index.bytes', '4096'],
    ['index.interval.bytes', '0'],
    ['file.delete.delay.ms', '0'],
    ['min.insync.replicas', '2'],
    ['compression.type', 'zstd'],
    ['unclean.leader.election.enable', 'TRUE'],
    ['message.downconversion.enable', 'false'],
  ];
  for (const [name, value] of valid) {
    it(`accepts ${name}=${value}`, () => expect(validateTopicConfig(name, value)).toBeNull());
  }

  const invalid: Array<[string, string | null, RegExp]> = [
    ['cleanup.policy', 'archive', /unknown policy 'archive'/],
    ['flush.messages', '0', /\[1, /],
    ['compression.gzip.level', '0', /-1 \(default\)/],
    ['cleanup.policy', 'delete,delete', /twice/],
    ['retention.ms', '-2', /\[-1,/],
    ['retention.ms', '1h', /not a number of type LONG/],
    ['segment.bytes', '13', /\[14,/],
    ['segment.bytes', '2147483648', /2147483647/],
    ['segment.ms', '0', /\[1,/],
    ['message.timestamp.type', 'createtime', /CreateTime, LogAppendTime/],
    ['message.timestamp.before.max.ms', '9223372036854775808', /out|must be in/],
    ['min.cleanable.dirty.ratio', '1.5', /\[0, 1\]/],
    ['min.cleanable.dirty.ratio', 'half', /DOUBLE/],
    ['min.insync.replicas', '0', /\[1,/],
    ['compression.type', 'brotli', /producer, uncompressed/],
    ['unclean.leader.election.enable', 'yes', /boolean/],
    ['retention.ms', null, /null/],
    ['no.such.config', '1', /Unknown topic config name: no.such.config/],
  ];
  for (const [name, value, msg] of invalid) {
    it(`rejects ${name}=${String(value)}`, () => {
      const err = validateTopicConfig(name, value);
      expect(err).not.toBeNull();
      expect(err).toMatch(msg);
      expect(err).toContain(name);
    });
  }

  it('normalizes values for storage', () => {
    expect(normalizeTopicConfigValue('cleanup.policy', 'delete, compact')).toBe('delete,compact');
    expect(normalizeTopicConfigValue('cleanup.policy', ' ')).toBe('');
    expect(normalizeTopicConfigValue('flush.ms', '1000')).toBe('1000');
    expect(normalizeTopicConfigValue('retention.ms', ' 1000 ')).toBe('1000');
    expect(normalizeTopicConfigValue('unclean.leader.election.enable', 'True')).toBe('true');
    expect(() => normalizeTopicConfigValue('retention.ms', 'x')).toThrow(ConfigError);
  });
});

describe('describeTopicConfig', () => {
  it('lists every supported config with defaults from the broker', () => {
    const entries = describeTopicConfig({}, broker);
    expect(entries.map((e) => e.name)).toEqual(TOPIC_CONFIG_NAMES);
    expect(entries).toHaveLength(27);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('retention.ms')).toMatchObject({ value: '604800000', source: 'DEFAULT_CONFIG', type: 'LONG', readOnly: false, isSensitive: false });
    expect(byName.get('segment.bytes')?.value).toBe('1073741824');
    expect(byName.get('max.message.bytes')?.value).toBe('1048588');
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'delete', type: 'LIST' });
    expect(byName.get('message.timestamp.after.max.ms')?.value).toBe('3600000');
    expect(byName.get('max.compaction.lag.ms')?.value).toBe('9223372036854775807');
    for (const e of entries) expect(e.documentation.length).toBeGreaterThan(0);
  });

  it('marks overrides as DYNAMIC_TOPIC_CONFIG and statically configured broker defaults as STATIC_BROKER_CONFIG', () => {
    const b = loadBrokerConfig({ env: { FLOE_LOG_RETENTION_MS: '1000' }, cwd: '/' });
    const entries = describeTopicConfig({ 'cleanup.policy': 'compact', 'segment.ms': '60000' }, b);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG' });
    expect(byName.get('segment.ms')?.synonyms).toEqual([
      { name: 'segment.ms', value: '60000', source: 'DYNAMIC_TOPIC_CONFIG' },
      { name: 'log.roll.ms', value: '604800000', source: 'DEFAULT_CONFIG' },
    ]);
    expect(byName.get('retention.ms')).toMatchObject({ value: '1000', source: 'STATIC_BROKER_CONFIG' });
    expect(byName.get('retention.ms')?.synonyms).toEqual([
      { name: 'log.retention.ms', value: '1000', source: 'STATIC_BROKER_CONFIG' },
      { name: 'log.retention.ms', value: '604800000', source: 'DEFAULT_CONFIG' },
    ]);
  });

  it('can be limited to named configs', () => {
    expect(describeTopicConfig({}, broker, ['retention.ms', 'bogus', 'segment.bytes']).map((e) => e.name)).toEqual(['retention.ms', 'segment.bytes']);
  });

  it('exposes Kafka wire codes', () => {
    expect(configSourceId('DYNAMIC_TOPIC_CONFIG')).toBe(1);
    expect(configSourceId('STATIC_BROKER_CONFIG')).toBe(4);
    expect(configSourceId('DEFAULT_CONFIG')).toBe(5);
    expect(configTypeId('BOOLEAN')).toBe(1);
    expect(configTypeId('LONG')).toBe(5);
    expect(configTypeId('LIST')).toBe(7);
  });
});

describe('toLogConfig', () => {
  it('derives the log settings from overrides and broker defaults', () => {
    const b = loadBrokerConfig({ env: {}, cwd: '/', flags: { logSegmentBytes: 4096, logRetentionBytes: 1_000_000 } });
    expect(
      toLogConfig({ 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime', 'cleanup.policy': 'delete,compact' }, b),
    ).toEqual({
      segmentBytes: 4096,
      segmentMs: 604800000,
      retentionMs: -1,
      retentionBytes: 1_000_000,
      indexIntervalBytes: 4096,
      maxMessageBytes: 1048588,
      timestampType: 'LogAppendTime',
      fileDeleteDelayMs: 60000,
      cleanupPolicy: 'delete,compact',
      deleteRetentionMs: 86400000,
      minCompactionLagMs: 0,
      maxCompactionLagMs: Number.POSITIVE_INFINITY,
      minCleanableDirtyRatio: 0.5,
      messageTimestampBeforeMaxMs: Number.POSITIVE_INFINITY,
      messageTimestampAfterMaxMs: 3600000,
    });
  });

  it('throws ConfigError on a stored override that is invalid', () => {
    expect(() => toLogConfig({ 'segment.bytes': 'big' }, broker)).toThrow(/segment.bytes/);
  });
});
