import { readDeleteTopicsRequest, writeDeleteTopicsResponse, type DeleteTopicsRequest, type DeleteTopicsResponse, type DeleteTopicsResponseDeletableTopicResult } from '../protocol/generated/delete-topics.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { TopicError } from '../core/topics.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

type Result = Input<DeleteTopicsResponseDeletableTopicResult>;
/** One requested topic: by name (v0-6) or by id (v6). */
interface Target {
  name: string | null;
  topicId: string;
}

function targets(req: DeleteTopicsRequest, v: number): Target[] {
  if (v >= 6) return req.topics.map((t) => ({ name: t.name, topicId: t.topicId }));
  return req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
}

function count<K>(keys: K[]): Map<K, number> {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

async function deleteOne(t: Target, names: Map<string | null, number>, ids: Map<string, number>, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  const base: Result = { name: t.name, topicId: t.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
  const fail = (errorCode: number, errorMessage: string): Result => ({ ...base, errorCode, errorMessage });
  const byId = t.topicId !== ZERO_UUID;
  if (byId && t.name !== null) return fail(ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.');
  if (!byId && t.name === null) return fail(ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.');
  if (byId && (ids.get(t.topicId) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic id.');
  if (!byId && (names.get(t.name) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.');
  if (!broker.config.deleteTopicEnable) {
    // Clients before v3 do not know TOPIC_DELETION_DISABLED.
    const code = ctx.apiVersion < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED;
    return fail(code, 'Topic deletion is disabled.');
  }
  const rec = byId ? broker.topics.byId(t.topicId) : broker.topics.get(t.name!);
  if (!rec) {
    return byId
      ? fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${t.topicId} does not exist.`)
      : fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic: ${t.name}`);
  }
  const named: Result = { ...base, name: rec.name, topicId: rec.topicId };
  try {
    await broker.topics.delete(rec.name);
    return named;
  } catch (err) {
    if (err instanceof TopicError) return { ...named, errorCode: err.code, errorMessage: err.message };
    ctx.log.error({ err, topic: rec.name }, 'delete topic failed');
    return { ...named, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (err as Error).message };
  }
}

export default defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: 20,
  minVersion: 1,
  maxVersion: 6,
  read: readDeleteTopicsRequest,
  write: writeDeleteTopicsResponse,
  async handle(req, ctx) {
    const list = targets(req, ctx.apiVersion);
    const names = count(list.filter((t) => t.topicId === ZERO_UUID).map((t) => t.name));
    const ids = count(list.filter((t) => t.topicId !== ZERO_UUID).map((t) => t.topicId));
    // Sequential: each deletion rewrites control state and renames a directory.
    const responses: Result[] = [];
    for (const t of list) responses.push(await deleteOne(t, names, ids, ctx));
    return { throttleTimeMs: 0, responses };
  },
});
