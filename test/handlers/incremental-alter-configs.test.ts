import { afterEach, describe, expect, it } from 'vitest';
import { readIncrementalAlterConfigsResponse, writeIncrementalAlterConfigsRequest } from '../../broker/protocol/generated/incremental-alter-configs.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 44;
const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

type Op = { name: string; configOperation: number; value: string | null };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function alter(topic: string, configs: Op[], opts: { v?: number; validateOnly?: boolean } = {}) {
  const res = await h!.call(API, opts.v ?? 1, writeIncrementalAlterConfigsRequest, { resources: [{ resourceType: TOPIC, resourceName: topic, configs }], validateOnly: opts.validateOnly ?? false }, readIncrementalAlterConfigsResponse);
  return res.responses[0]!;
}

describe('IncrementalAlterConfigs', () => {
  for (const v of [0, 1]) {
    it(`SET and DELETE change only the named overrides (v${v})`, async () => {
      h = await openHarness();
      await h.createTopic('t', 1, { 'retention.ms': '1000', 'segment.ms': '60000' });
      const r = await alter('t', [
        { name: 'retention.bytes', configOperation: SET, value: '2048' },
        { name: 'segment.ms', configOperation: DELETE, value: null },
        { name: 'max.message.bytes', configOperation: DELETE, value: null },
      ], { v });
      expect(r).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 't' });
      expect(h.broker.topics.get('t')!.configs).toEqual({ 'retention.ms': '1000', 'retention.bytes': '2048' });
      expect(h.broker.topics.logConfigOf('t').retentionBytes).toBe(2048);
    });
  }

  it('APPEND and SUBTRACT edit list configs starting from the effective value', async () => {
    h = await openHarness();
    await h.createTopic('t');
    expect((await alter('t', [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }])).errorCode).toBe(ErrorCode.NONE);
    // Kafka appends after the current items: delete,compact.
    expect(h.broker.topics.get('t')!.configs['cleanup.policy']).toBe('delete,compact');
    // Appending a present item changes nothing.
    expect((await alter('t', [{ name: 'cleanup.policy', configOperation: APPEND, value: 'delete' }])).errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('t')!.configs['cleanup.policy']).toBe('delete,compact');
    expect((await alter('t', [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }])).errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('t')!.configs['cleanup.policy']).toBe('compact');
    expect(h.broker.topics.logConfigOf('t').cleanupPolicy).toBe('compact');
    // Kafka 4.x accepts the empty list (neither delete nor compact).
    const empty = await alter('t', [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'compact' }]);
    expect(empty.errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('t')!.configs['cleanup.policy']).toBe('');
    expect(h.broker.topics.logConfigOf('t').cleanupPolicy).toBe('');
    // SUBTRACT of delete from the default delete policy is accepted too.
    await h.createTopic('d');
    expect((await alter('d', [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }])).errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('d')!.configs['cleanup.policy']).toBe('');
    expect((await alter('d', [{ name: 'cleanup.policy', configOperation: APPEND, value: 'bogus' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });

  it('refuses APPEND/SUBTRACT on non-list configs, unknown operations and unknown names', async () => {
    h = await openHarness();
    await h.createTopic('t', 1, { 'retention.ms': '1000' });
    const append = await alter('t', [{ name: 'retention.ms', configOperation: APPEND, value: '5' }]);
    expect(append.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(append.errorMessage).toContain('retention.ms');
    expect((await alter('t', [{ name: 'retention.ms', configOperation: 7, value: '5' }])).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await alter('t', [{ name: 'bogus', configOperation: SET, value: '5' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await alter('t', [{ name: 'bogus', configOperation: DELETE, value: null }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect((await alter('t', [{ name: 'retention.ms', configOperation: SET, value: null }])).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await alter('t', [{ name: 'retention.ms', configOperation: SET, value: '-5' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    // Nothing of a refused resource is applied, even its valid operations.
    const mixed = await alter('t', [{ name: 'segment.ms', configOperation: SET, value: '1000' }, { name: 'retention.ms', configOperation: SET, value: 'x' }]);
    expect(mixed.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(h.broker.topics.get('t')!.configs).toEqual({ 'retention.ms': '1000' });
    expect((await alter('missing', [{ name: 'retention.ms', configOperation: SET, value: '1' }])).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('validateOnly applies nothing', async () => {
    h = await openHarness();
    await h.createTopic('t');
    expect((await alter('t', [{ name: 'retention.ms', configOperation: SET, value: '5' }], { validateOnly: true })).errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('t')!.configs).toEqual({});
  });

  it('refuses broker resources as static', async () => {
    h = await openHarness();
    const res = await h.call(
      API,
      1,
      writeIncrementalAlterConfigsRequest,
      { resources: [{ resourceType: BROKER, resourceName: '0', configs: [{ name: 'log.retention.ms', configOperation: SET, value: '1' }] }, { resourceType: BROKER, resourceName: '9', configs: [] }] },
      readIncrementalAlterConfigsResponse,
    );
    expect(res.responses.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, 'broker configs are static in Floe'],
      [ErrorCode.INVALID_REQUEST, expect.stringContaining('Unexpected broker id')],
    ]);
  });

  it('accepts topic configs Kafka has that are no-ops in Floe (flush.ms, flush.messages, preallocate...)', async () => {
    h = await openHarness();
    await h.createTopic('t');
    const res = await alter('t', [
      { name: 'flush.ms', configOperation: SET, value: '1000' },
      { name: 'flush.messages', configOperation: SET, value: '10' },
      { name: 'preallocate', configOperation: SET, value: 'true' },
      { name: 'compression.zstd.level', configOperation: SET, value: '9' },
    ]);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('t')!.configs).toMatchObject({ 'flush.ms': '1000', 'flush.messages': '10', preallocate: 'true', 'compression.zstd.level': '9' });
    expect((await alter('t', [{ name: 'flush.messages', configOperation: SET, value: '0' }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });
});
