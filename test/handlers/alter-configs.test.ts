import { afterEach, describe, expect, it } from 'vitest';
import { readAlterConfigsResponse, writeAlterConfigsRequest } from '../../broker/protocol/generated/alter-configs.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 33;
const TOPIC = 2;
const BROKER = 4;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('AlterConfigs', () => {
  for (const v of [0, 2]) {
    it(`replaces the whole override set and reconfigures the log (v${v})`, async () => {
      h = await openHarness();
      await h.createTopic('t', 1, { 'retention.ms': '1000', 'segment.ms': '60000' });
      const res = await h.call(
        API,
        v,
        writeAlterConfigsRequest,
        { resources: [{ resourceType: TOPIC, resourceName: 't', configs: [{ name: 'retention.bytes', value: '4096' }, { name: 'cleanup.policy', value: 'delete, compact' }] }] },
        readAlterConfigsResponse,
      );
      expect(res.responses).toEqual([{ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 't' }]);
      expect(h.broker.topics.get('t')!.configs).toEqual({ 'retention.bytes': '4096', 'cleanup.policy': 'delete,compact' });
      const lc = h.broker.topics.logConfigOf('t');
      expect(lc.retentionBytes).toBe(4096);
      expect(lc.retentionMs).toBe(h.broker.config.logRetentionMs);
    });
  }

  it('validateOnly leaves the overrides alone but still reports errors', async () => {
    h = await openHarness();
    await h.createTopic('t', 1, { 'retention.ms': '1000' });
    const res = await h.call(
      API,
      1,
      writeAlterConfigsRequest,
      {
        resources: [
          { resourceType: TOPIC, resourceName: 't', configs: [{ name: 'retention.ms', value: '2000' }] },
          { resourceType: TOPIC, resourceName: 'missing', configs: [] },
        ],
        validateOnly: true,
      },
      readAlterConfigsResponse,
    );
    expect(res.responses.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(h.broker.topics.get('t')!.configs).toEqual({ 'retention.ms': '1000' });
  });

  it('refuses bad input per resource without touching the others', async () => {
    h = await openHarness();
    await h.createTopic('a', 1, { 'retention.ms': '1000' });
    await h.createTopic('b');
    const res = await h.call(
      API,
      2,
      writeAlterConfigsRequest,
      {
        resources: [
          { resourceType: TOPIC, resourceName: 'a', configs: [{ name: 'retention.ms', value: 'soon' }] },
          { resourceType: TOPIC, resourceName: 'a', configs: [] },
          { resourceType: TOPIC, resourceName: 'b', configs: [{ name: 'no.such.config', value: '1' }] },
          { resourceType: BROKER, resourceName: '0', configs: [{ name: 'log.retention.ms', value: '1' }] },
          { resourceType: 8, resourceName: '0', configs: [] },
        ],
      },
      readAlterConfigsResponse,
    );
    expect(res.responses.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    expect(res.responses[0]!.errorMessage).toBe('Duplicate resource.');
    expect(res.responses[2]!.errorMessage).toContain('no.such.config');
    expect(res.responses[3]!.errorMessage).toBe('broker configs are static in Floe');
    expect(h.broker.topics.get('a')!.configs).toEqual({ 'retention.ms': '1000' });
    expect(h.broker.topics.get('b')!.configs).toEqual({});
  });

  it('reports invalid values, null values and duplicate keys', async () => {
    h = await openHarness();
    await h.createTopic('t');
    const send = (configs: Array<{ name: string; value: string | null }>) =>
      h!.call(API, 2, writeAlterConfigsRequest, { resources: [{ resourceType: TOPIC, resourceName: 't', configs }] }, readAlterConfigsResponse).then((r) => r.responses[0]!);
    const bad = await send([{ name: 'retention.ms', value: 'soon' }]);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(bad.errorMessage).toContain('retention.ms');
    expect((await send([{ name: 'retention.ms', value: null }])).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await send([{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }])).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await send([{ name: 'cleanup.policy', value: 'forever' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(h.broker.topics.get('t')!.configs).toEqual({});
  });
});
