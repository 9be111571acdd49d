import { afterEach, describe, expect, it } from 'vitest';
import { readDescribeConfigsResponse, writeDescribeConfigsRequest } from '../../broker/protocol/generated/describe-configs.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 32;
const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
const TYPE_LONG = 5;
const TYPE_LIST = 7;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DescribeConfigs', () => {
  it('describes every topic config with overrides, sources, types and synonyms (v4)', async () => {
    h = await openHarness({ logRetentionMs: 5000 });
    await h.createTopic('t', 1, { 'retention.ms': '1000' });
    const res = await h.call(API, 4, writeDescribeConfigsRequest, { resources: [{ resourceType: TOPIC, resourceName: 't', configurationKeys: null }], includeSynonyms: true, includeDocumentation: false }, readDescribeConfigsResponse);
    const r = res.results[0]!;
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.errorMessage).toBeNull();
    const byName = new Map(r.configs.map((c) => [c.name, c]));
    expect(byName.size).toBeGreaterThanOrEqual(20);
    const retention = byName.get('retention.ms')!;
    expect(retention).toMatchObject({ value: '1000', configSource: SOURCE_DYNAMIC_TOPIC, configType: TYPE_LONG, readOnly: false, isSensitive: false, documentation: null });
    // Most specific first: the override, then the broker's value for log.retention.ms.
    expect(retention.synonyms[0]).toEqual({ name: 'retention.ms', value: '1000', source: SOURCE_DYNAMIC_TOPIC });
    expect(retention.synonyms[1]).toEqual({ name: 'log.retention.ms', value: '5000', source: SOURCE_STATIC_BROKER });
    expect(byName.get('cleanup.policy')).toMatchObject({ value: 'delete', configSource: SOURCE_DEFAULT, configType: TYPE_LIST });
  });

  it('filters by configurationKeys, skipping unknown names, and adds documentation on request', async () => {
    h = await openHarness();
    await h.createTopic('t');
    const res = await h.call(
      API,
      3,
      writeDescribeConfigsRequest,
      { resources: [{ resourceType: TOPIC, resourceName: 't', configurationKeys: ['segment.ms', 'no.such.config'] }], includeSynonyms: false, includeDocumentation: true },
      readDescribeConfigsResponse,
    );
    const configs = res.results[0]!.configs;
    expect(configs.map((c) => c.name)).toEqual(['segment.ms']);
    expect(configs[0]!.synonyms).toEqual([]);
    expect(configs[0]!.documentation).toEqual(expect.any(String));
    expect(configs[0]!.documentation!.length).toBeGreaterThan(0);
  });

  it('v1 carries synonyms but no type or documentation', async () => {
    h = await openHarness();
    await h.createTopic('t', 1, { 'cleanup.policy': 'compact' });
    const res = await h.call(API, 1, writeDescribeConfigsRequest, { resources: [{ resourceType: TOPIC, resourceName: 't', configurationKeys: ['cleanup.policy'] }], includeSynonyms: true }, readDescribeConfigsResponse);
    const c = res.results[0]!.configs[0]!;
    expect(c).toMatchObject({ name: 'cleanup.policy', value: 'compact', configSource: SOURCE_DYNAMIC_TOPIC });
    expect(c.synonyms.map((s) => s.source)).toEqual([SOURCE_DYNAMIC_TOPIC, SOURCE_DEFAULT]);
  });

  it('reports errors per resource: unknown topic, bad name, unsupported type, wrong broker id', async () => {
    h = await openHarness();
    await h.createTopic('ok');
    const res = await h.call(
      API,
      4,
      writeDescribeConfigsRequest,
      {
        resources: [
          { resourceType: TOPIC, resourceName: 'missing', configurationKeys: null },
          { resourceType: TOPIC, resourceName: 'bad name!', configurationKeys: null },
          { resourceType: BROKER_LOGGER, resourceName: '0', configurationKeys: null },
          { resourceType: BROKER, resourceName: '7', configurationKeys: null },
          { resourceType: TOPIC, resourceName: 'ok', configurationKeys: ['retention.ms'] },
        ],
      },
      readDescribeConfigsResponse,
    );
    expect(res.results.map((r) => [r.resourceName, r.errorCode])).toEqual([
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['bad name!', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['0', ErrorCode.INVALID_REQUEST],
      ['7', ErrorCode.INVALID_REQUEST],
      ['ok', ErrorCode.NONE],
    ]);
    expect(res.results[0]!.errorMessage).toContain('missing');
    expect(res.results[0]!.configs).toEqual([]);
    expect(res.results[4]!.configs).toHaveLength(1);
  });

  it('describes the broker resource by node id or empty name, hiding sensitive values', async () => {
    h = await openHarness({ nodeId: 3, logRetentionMs: 7777 });
    for (const name of ['3', '']) {
      const res = await h.call(API, 4, writeDescribeConfigsRequest, { resources: [{ resourceType: BROKER, resourceName: name, configurationKeys: null }], includeSynonyms: true }, readDescribeConfigsResponse);
      const r = res.results[0]!;
      expect(r.errorCode).toBe(ErrorCode.NONE);
      const byName = new Map(r.configs.map((c) => [c.name, c]));
      expect(byName.get('log.retention.ms')).toMatchObject({ value: '7777', readOnly: true, configSource: SOURCE_STATIC_BROKER });
      expect(byName.get('num.partitions')).toMatchObject({ value: '1', configSource: SOURCE_DEFAULT });
      const control = byName.get('control')!;
      expect(control.isSensitive).toBe(true);
      expect(control.value).toBeNull();
    }
  });

  it('closes the connection on v0, which it does not serve (as Kafka does)', async () => {
    h = await openHarness();
    await expect(h.raw(API, 0, writeDescribeConfigsRequest, { resources: [] })).rejects.toThrow(/not supported/);
  });
});
