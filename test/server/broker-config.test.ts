import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  advertisedAddress,
  defaultBrokerConfig,
  loadBrokerConfig,
  type LoadBrokerConfigOptions,
} from '../../broker/config/broker-config.js';
import { brokerFlagSpecs, configKeyToFlag, flagToConfigKey } from '../../broker/config/cli-flags.js';
import { ConfigError } from '../../broker/config/config-error.js';
import { describeBrokerConfig } from '../../broker/config/broker-config-entries.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'floe-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const noNics = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }] };
const load = (o: LoadBrokerConfigOptions) => loadBrokerConfig({ env: {}, cwd: dir, interfaces: noNics, ...o });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadBrokerConfig', () => {
  it('has the documented defaults', () => {
    const c = load({});
    expect(c).toMatchObject({
      dataDir: join(dir, 'data'),
      kafkaHost: '127.0.0.1',
      kafkaPort: 9092,
      advertisedHost: '127.0.0.1',
      advertisedPort: 9092,
      httpHost: '127.0.0.1',
      httpPort: 8080,
      nodeId: 0,
      clusterId: undefined,
      numPartitions: 1,
      defaultReplicationFactor: 1,
      autoCreateTopics: true,
      logRetentionMs: 604800000,
      logRetentionBytes: -1,
      logSegmentBytes: 1073741824,
      logSegmentMs: 604800000,
      messageMaxBytes: 1048588,
      socketRequestMaxBytes: 104857600,
      connectionsMaxIdleMs: 600000,
      groupInitialRebalanceDelayMs: 3000,
      offsetsRetentionMinutes: 10080,
      logLevel: 'info',
      logCleanerIntervalMs: 15000,
      logRetentionCheckIntervalMs: 300000,
      deleteTopicEnable: true,
      control: 'local',
    });
    expect(c.sources?.kafkaPort).toBe('default');
    expect(c.sources?.advertisedHost).toBe('derived');
  });

  it('merges defaults < file < env < flags', () => {
    const cfg = file('floe.properties', ['kafka.port=1001', 'http.port=2001', 'num.partitions=3', 'log.level=warn'].join('\n'));
    const c = load({
      configFile: cfg,
      env: { FLOE_HTTP_PORT: '2002', FLOE_NUM_PARTITIONS: '4', FLOE_UNRELATED: 'x' },
      flags: { numPartitions: '5', config: cfg },
    });
    expect(c.kafkaPort).toBe(1001);
    expect(c.httpPort).toBe(2002);
    expect(c.numPartitions).toBe(5);
    expect(c.logLevel).toBe('warn');
    expect(c.advertisedPort).toBe(1001);
    expect(c.sources).toMatchObject({ kafkaPort: 'file', httpPort: 'env', numPartitions: 'flag', logLevel: 'file' });
  });

  it('accepts kebab-case flags and camelCase, kebab and dotted names in JSON files', () => {
    const cfg = file('floe.json', JSON.stringify({ dataDir: '/srv/floe', 'http-port': 8081, 'auto.create.topics.enable': false, nodeId: '7' }));
    const c = load({ configFile: cfg, flags: { '--group-initial-rebalance-delay-ms': '0', 'log-segment-bytes': 1024 } });
    expect(c.dataDir).toBe('/srv/floe');
    expect(c.httpPort).toBe(8081);
    expect(c.autoCreateTopics).toBe(false);
    expect(c.nodeId).toBe(7);
    expect(c.groupInitialRebalanceDelayMs).toBe(0);
    expect(c.logSegmentBytes).toBe(1024);
  });

  it('reads a Kafka-style server.properties with Kafka names and unit variants', () => {
    const warnings: string[] = [];
    const cfg = file(
      'server.properties',
      [
        'broker.id=3',
        'log.dirs=/data/kafka',
        'listeners=PLAINTEXT://:19092,CONTROLLER://:19093',
        'advertised.listeners=PLAINTEXT://broker3.example:29092',
        'log.retention.hours=24',
        'log.roll.hours=1',
        'log.cleaner.backoff.ms=1000',
        'zookeeper.connect=localhost:2181',
        'auto.create.topics.enable=FALSE',
      ].join('\n'),
    );
    const c = load({ configFile: cfg, onWarning: (m) => warnings.push(m) });
    expect(c.nodeId).toBe(3);
    expect(c.dataDir).toBe('/data/kafka');
    expect(c.kafkaHost).toBe('0.0.0.0');
    expect(c.kafkaPort).toBe(19092);
    expect(c.advertisedHost).toBe('broker3.example');
    expect(c.advertisedPort).toBe(29092);
    expect(c.logRetentionMs).toBe(24 * 3600_000);
    expect(c.logSegmentMs).toBe(3600_000);
    expect(c.logCleanerIntervalMs).toBe(1000);
    expect(c.autoCreateTopics).toBe(false);
    expect(warnings.some((w) => w.includes('zookeeper.connect'))).toBe(true);
    expect(warnings.some((w) => w.includes('only the first listener'))).toBe(true);
  });

  it('prefers log.retention.ms over minutes over hours within one file, as Kafka does', () => {
    const cfg = file('a.properties', 'log.retention.hours=1\nlog.retention.ms=5000\nlog.retention.minutes=2\n');
    expect(load({ configFile: cfg }).logRetentionMs).toBe(5000);
    const cfg2 = file('b.properties', 'log.retention.hours=1\nlog.retention.minutes=2\n');
    expect(load({ configFile: cfg2 }).logRetentionMs).toBe(120_000);
    const cfg3 = file('c.properties', 'log.retention.hours=-1\n');
    expect(load({ configFile: cfg3 }).logRetentionMs).toBe(-1);
  });

  it('lets explicit host/port win over a listen shorthand in the same source, and a higher source win over both', () => {
    const c = load({ env: { FLOE_KAFKA_LISTEN: '10.0.0.5:7000', FLOE_KAFKA_PORT: '7001' } });
    expect(c.kafkaHost).toBe('10.0.0.5');
    expect(c.kafkaPort).toBe(7001);
    expect(c.advertisedHost).toBe('10.0.0.5');
    const d = load({ env: { FLOE_KAFKA_PORT: '7001' }, flags: { kafkaListen: '[::1]:7002' } });
    expect(d.kafkaHost).toBe('::1');
    expect(d.kafkaPort).toBe(7002);
  });

  it('picks the advertised host: never localhost, never a wildcard', () => {
    expect(load({ flags: { kafkaHost: 'localhost' } }).advertisedHost).toBe('127.0.0.1');
    expect(load({ flags: { advertisedHost: 'localhost' } }).advertisedHost).toBe('127.0.0.1');
    expect(load({ flags: { kafkaHost: '0.0.0.0' } }).advertisedHost).toBe('127.0.0.1');
    const nics = {
      ...noNics,
      eth0: [
        { address: 'fe80::1', netmask: 'ffff::', family: 'IPv6' as const, mac: '01:02:03:04:05:06', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
        { address: '10.1.2.3', netmask: '255.255.0.0', family: 'IPv4' as const, mac: '01:02:03:04:05:06', internal: false, cidr: '10.1.2.3/16' },
      ],
    };
    expect(load({ flags: { kafkaHost: '::' }, interfaces: nics }).advertisedHost).toBe('10.1.2.3');
    expect(load({ flags: { kafkaHost: '0.0.0.0', advertisedHost: 'floe.internal' }, interfaces: nics }).advertisedHost).toBe('floe.internal');
    expect(configError(() => load({ flags: { advertisedHost: '0.0.0.0' } })).key).toBe('advertisedHost');
  });

  it('advertises the bound port when the listener port is ephemeral', () => {
    const c = load({ flags: { kafkaPort: 0 } });
    expect(c.advertisedPort).toBe(0);
    expect(advertisedAddress(c, 43210)).toEqual({ host: '127.0.0.1', port: 43210 });
    const d = load({ flags: { kafkaPort: 0, advertisedPort: 9999 } });
    expect(advertisedAddress(d, 43210).port).toBe(9999);
  });

  it('reads $FLOE_CONFIG when no file is given', () => {
    const cfg = file('env.json', '{"kafkaPort": 1234}');
    expect(load({ env: { FLOE_CONFIG: cfg } }).kafkaPort).toBe(1234);
  });

  it('ignores empty environment variables and non-broker flags', () => {
    const c = load({ env: { FLOE_KAFKA_PORT: '' }, flags: { verbose: true, config: undefined, logDirs: '/x' } });
    expect(c.kafkaPort).toBe(9092);
    expect(c.dataDir).toBe(join(dir, 'data'));
  });

  describe('rejects bad input with a one-line message naming the key', () => {
    const cases: Array<[string, LoadBrokerConfigOptions, string, RegExp]> = [
      ['non-integer port', { env: { FLOE_KAFKA_PORT: 'abc' } }, 'kafkaPort', /FLOE_KAFKA_PORT.*not an integer/],
      ['port out of range', { flags: { kafkaPort: 70000 } }, 'kafkaPort', /out of range \[0, 65535\]/],
      ['fractional number', { flags: { numPartitions: 1.5 } }, 'numPartitions', /not an integer/],
      ['zero partitions', { flags: { 'num-partitions': '0' } }, 'numPartitions', /out of range/],
      ['bad boolean', { env: { FLOE_AUTO_CREATE_TOPICS: 'yes' } }, 'autoCreateTopics', /not a boolean/],
      ['bad log level', { flags: { logLevel: 'loud' } }, 'logLevel', /not one of/],
      ['bad control url', { flags: { control: 'mysql://x' } }, 'control', /unsupported control store scheme/],
      ['tiny segment', { flags: { logSegmentBytes: 10 } }, 'logSegmentBytes', /out of range \[14,/],
      ['retention below -1', { flags: { logRetentionMs: -2 } }, 'logRetentionMs', /out of range/],
      ['bad listen', { env: { FLOE_KAFKA_LISTEN: 'nohostport' } }, 'kafkaHost', /not host:port/],
      ['empty data dir', { flags: { dataDir: '  ' } }, 'dataDir', /empty/],
    ];
    for (const [label, opts, key, msg] of cases) {
      it(label, () => {
        const err = configError(() => load(opts));
        expect(err.key).toBe(key);
        expect(err.message).toMatch(msg);
        expect(err.message).toContain(key);
        expect(err.message).not.toContain('\n');
      });
    }

    it('in files: type errors, several data dirs, conflicting aliases, unreadable or malformed files', () => {
      expect(configError(() => load({ configFile: file('a.properties', 'message.max.bytes=1MB') })).message).toMatch(
        /messageMaxBytes \(message\.max\.bytes in .*a\.properties\)/,
      );
      expect(configError(() => load({ configFile: file('b.properties', 'log.dirs=/a,/b') })).key).toBe('dataDir');
      expect(configError(() => load({ configFile: file('c.properties', 'broker.id=1\nnode.id=2') })).message).toMatch(/conflicting values for nodeId/);
      expect(configError(() => load({ configFile: join(dir, 'missing.json') })).key).toBe('configFile');
      expect(configError(() => load({ configFile: file('d.json', '{nope') })).key).toBe('configFile');
      expect(configError(() => load({ configFile: file('e.json', '[1]') })).key).toBe('configFile');
      expect(configError(() => load({ configFile: file('f.json', '{"httpPort": true}') })).key).toBe('httpPort');
    });
  });

  it('accepts postgres control URLs', () => {
    expect(load({ flags: { control: 'postgres://u:p@db:5432/floe' } }).control).toBe('postgres://u:p@db:5432/floe');
    expect(load({ flags: { control: 'postgresql://db/floe' } }).control).toBe('postgresql://db/floe');
  });

  it('group session timeout bounds: Kafka defaults, Kafka names in files, flags, env, min <= max', () => {
    const d = load({});
    expect([d.groupMinSessionTimeoutMs, d.groupMaxSessionTimeoutMs]).toEqual([6000, 1800000]);
    const cfgDir = mkdtempSync(join(tmpdir(), 'floe-cfg-'));
    const file = join(cfgDir, 'server.properties');
    writeFileSync(file, 'group.min.session.timeout.ms=1000\ngroup.max.session.timeout.ms=60000\n');
    const f = load({ configFile: file });
    expect([f.groupMinSessionTimeoutMs, f.groupMaxSessionTimeoutMs]).toEqual([1000, 60000]);
    expect(f.sources?.groupMinSessionTimeoutMs).toBe('file');
    expect(load({ flags: { '--group-min-session-timeout-ms': '2000' } }).groupMinSessionTimeoutMs).toBe(2000);
    expect(load({ env: { FLOE_GROUP_MAX_SESSION_TIMEOUT_MS: '90000' } }).groupMaxSessionTimeoutMs).toBe(90000);
    expect(() => load({ flags: { groupMinSessionTimeoutMs: 10000, groupMaxSessionTimeoutMs: 5000 } })).toThrow(/above groupMaxSessionTimeoutMs/);
    rmSync(cfgDir, { recursive: true, force: true });
  });

  it('defaultBrokerConfig validates overrides too', () => {
    expect(defaultBrokerConfig({ groupInitialRebalanceDelayMs: 0 }).groupInitialRebalanceDelayMs).toBe(0);
    expect(() => defaultBrokerConfig({ kafkaPort: -1 })).toThrow(ConfigError);
  });
});

describe('CLI flag helpers', () => {
  it('maps kebab-case flags to config keys and back', () => {
    expect(flagToConfigKey('--data-dir')).toBe('dataDir');
    expect(flagToConfigKey('--kafka-port')).toBe('kafkaPort');
    expect(flagToConfigKey('--group-initial-rebalance-delay-ms')).toBe('groupInitialRebalanceDelayMs');
    expect(flagToConfigKey('kafka-listen')).toBe('kafkaListen');
    expect(flagToConfigKey('--log-dirs')).toBeUndefined();
    expect(flagToConfigKey('--config')).toBeUndefined();
    expect(configKeyToFlag('groupInitialRebalanceDelayMs')).toBe('--group-initial-rebalance-delay-ms');
  });

  it('lists one flag per key, each round-tripping and loadable', () => {
    const specs = brokerFlagSpecs();
    expect(specs.find((s) => s.key === 'dataDir')).toMatchObject({ flag: '--data-dir', syntax: '--data-dir <path>', env: 'FLOE_DATA_DIR', defaultValue: './data' });
    for (const s of specs) expect(flagToConfigKey(s.flag)).toBe(s.key);
    expect(new Set(specs.map((s) => s.flag)).size).toBe(specs.length);
  });
});

describe('describeBrokerConfig', () => {
  it('reports Kafka names, sources and hides the control URL', () => {
    const cfg = file('s.properties', 'num.partitions=6\n');
    const c = load({ configFile: cfg, flags: { kafkaPort: 0, control: 'postgres://u:secret@db/floe' } });
    const entries = describeBrokerConfig(c, { boundPort: 40000 });
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('num.partitions')).toMatchObject({ value: '6', source: 'STATIC_BROKER_CONFIG', readOnly: true, type: 'INT' });
    expect(byName.get('log.retention.ms')).toMatchObject({ value: '604800000', source: 'DEFAULT_CONFIG' });
    expect(byName.get('listeners')?.value).toBe('PLAINTEXT://127.0.0.1:40000');
    expect(byName.get('advertised.listeners')?.value).toBe('PLAINTEXT://127.0.0.1:40000');
    expect(byName.get('control')).toMatchObject({ value: null, isSensitive: true });
    expect(JSON.stringify(entries)).not.toContain('secret');
    expect(byName.get('log.cleanup.policy')?.value).toBe('delete');
    expect(describeBrokerConfig(c, { names: ['num.partitions', 'nope'] }).map((e) => e.name)).toEqual(['num.partitions']);
  });
  it('listeners and advertised.listeners set by flags are STATIC_BROKER_CONFIG, else DEFAULT_CONFIG', () => {
    const byName = (c: ReturnType<typeof load>) => new Map(describeBrokerConfig(c, { boundPort: 40000 }).map((e) => [e.name, e.source]));
    const portOnly = byName(load({ flags: { kafkaPort: 19092 } }));
    expect(portOnly.get('listeners')).toBe('STATIC_BROKER_CONFIG');
    expect(portOnly.get('advertised.listeners')).toBe('DEFAULT_CONFIG');
    const both = byName(load({ flags: { kafkaListen: '0.0.0.0:19092', advertisedListen: 'b1.example:29092' } }));
    expect(both.get('listeners')).toBe('STATIC_BROKER_CONFIG');
    expect(both.get('advertised.listeners')).toBe('STATIC_BROKER_CONFIG');
    const advPort = byName(load({ flags: { advertisedPort: 29092 } }));
    expect(advPort.get('advertised.listeners')).toBe('STATIC_BROKER_CONFIG');
    const none = byName(load({}));
    expect(none.get('listeners')).toBe('DEFAULT_CONFIG');
  });
});
