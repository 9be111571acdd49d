import { readCreatePartitionsRequest, writeCreatePartitionsResponse, type CreatePartitionsRequest, type CreatePartitionsRequestCreatePartitionsTopic, type CreatePartitionsResponse, type CreatePartitionsResponseCreatePartitionsTopicResult } from '../protocol/generated/create-partitions.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { clientErrorMessage, shownName, TopicError } from '../core/topics.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';

type Result = Input<CreatePartitionsResponseCreatePartitionsTopicResult>;

const MAX_PARTITIONS = 10_000;

async function grow(t: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  const ok: Result = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
  const fail = (errorCode: number, errorMessage: string): Result => ({ ...ok, errorCode, errorMessage });
  const rec = broker.topics.get(t.name);
  if (!rec) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${shownName(t.name)}' does not exist.`);
  if (t.count > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${t.count} exceeds the limit of ${MAX_PARTITIONS}.`);
  // Placement is decided by leases, not by the client; only the shape of an assignment is checked.
  if (t.assignments !== null && t.count > rec.partitions) {
    const added = t.count - rec.partitions;
    if (t.assignments.length !== added) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${added} additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`);
    }
    if (t.assignments.some((a) => a.brokerIds.length === 0)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'A partition assignment must name at least one broker.');
  }
  try {
    await broker.topics.addPartitions(t.name, t.count, validateOnly);
    return ok;
  } catch (err) {
    if (err instanceof TopicError) return fail(err.code, err.message);
    ctx.log.error({ err, topic: t.name }, 'create partitions failed');
    return fail(ErrorCode.UNKNOWN_SERVER_ERROR, clientErrorMessage(err, `Adding partitions to ${t.name}`));
  }
}

export default defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  read: readCreatePartitionsRequest,
  write: writeCreatePartitionsResponse,
  async handle(req, ctx) {
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const results: Result[] = [];
    for (const t of req.topics) {
      if ((seen.get(t.name) ?? 0) > 1) results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' });
      else results.push(await grow(t, req.validateOnly, ctx));
    }
    return { throttleTimeMs: 0, results };
  },
});
