import { afterEach, describe, expect, it } from 'vitest';
import { readDeleteTopicsResponse, writeDeleteTopicsRequest } from '../../broker/protocol/generated/delete-topics.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 20;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DeleteTopics', () => {
  it('deletes topics by name and reports unknown and duplicate names (v1)', async () => {
    h = await openHarness();
    await h.createTopic('a', 2);
    await h.createTopic('b');
    const res = await h.call(API, 1, writeDeleteTopicsRequest, { topicNames: ['a', 'missing', 'b', 'b'], timeoutMs: 1000 }, readDeleteTopicsResponse);
    expect(res.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['a', ErrorCode.NONE],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['b', ErrorCode.INVALID_REQUEST],
      ['b', ErrorCode.INVALID_REQUEST],
    ]);
    expect(h.broker.topics.get('a')).toBeUndefined();
    expect(h.broker.topics.partition('a', 0)).toBeUndefined();
    expect(h.broker.topics.partition('a', 1)).toBeUndefined();
    expect(h.broker.topics.get('b')).toBeDefined();
  });

  it('carries error messages from v5', async () => {
    h = await openHarness();
    const res = await h.call(API, 5, writeDeleteTopicsRequest, { topicNames: ['nope'] }, readDeleteTopicsResponse);
    expect(res.responses[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.responses[0]!.errorMessage).toContain('nope');
  });

  it('addresses topics by id or name in v6', async () => {
    h = await openHarness();
    await h.createTopic('by-id');
    await h.createTopic('by-name');
    const id = h.broker.topics.get('by-id')!.topicId;
    const nameId = h.broker.topics.get('by-name')!.topicId;
    const res = await h.call(
      API,
      6,
      writeDeleteTopicsRequest,
      {
        topics: [
          { name: null, topicId: id },
          { name: 'by-name' },
          { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
          { name: 'x', topicId: nameId },
          { name: null },
        ],
      },
      readDeleteTopicsResponse,
    );
    expect(res.responses).toEqual([
      { name: 'by-id', topicId: id, errorCode: ErrorCode.NONE, errorMessage: null },
      { name: 'by-name', topicId: nameId, errorCode: ErrorCode.NONE, errorMessage: null },
      expect.objectContaining({ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', errorCode: ErrorCode.UNKNOWN_TOPIC_ID }),
      expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST }),
      expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST }),
    ]);
    expect(h.broker.topics.list()).toEqual([]);
  });

  it('refuses when deleteTopicEnable is false, with the code each version knows', async () => {
    h = await openHarness({ deleteTopicEnable: false });
    await h.createTopic('keep');
    const v4 = await h.call(API, 4, writeDeleteTopicsRequest, { topicNames: ['keep'] }, readDeleteTopicsResponse);
    expect(v4.responses[0]!.errorCode).toBe(ErrorCode.TOPIC_DELETION_DISABLED);
    const v2 = await h.call(API, 2, writeDeleteTopicsRequest, { topicNames: ['keep'] }, readDeleteTopicsResponse);
    expect(v2.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(h.broker.topics.get('keep')).toBeDefined();
  });

  it('a deleted topic can be created again, empty', async () => {
    h = await openHarness();
    await h.createTopic('again');
    await h.append('again', 0, 3);
    await h.call(API, 6, writeDeleteTopicsRequest, { topics: [{ name: 'again' }] }, readDeleteTopicsResponse);
    await h.createTopic('again');
    expect(h.broker.topics.partition('again', 0)!.logEndOffset).toBe(0);
  });

  it('closes the connection on v0, which it does not serve (as Kafka does)', async () => {
    h = await openHarness();
    await expect(h.raw(API, 0, writeDeleteTopicsRequest, { topicNames: ['x'] })).rejects.toThrow(/not supported/);
  });
});
