// Answers query records from a table's query topic: the JSON value is a search request, the
// `reply-topic` header names where the answer goes, `correlation-id` is copied onto it.
import type { Broker } from '../broker/core/broker.js';
import type { BatchInputRecord } from '../broker/protocol/records/records.js';
import { validateTopicName } from '../broker/core/topics.js';
import { TableError } from './errors.js';
import type { Filter } from './filter.js';
import { errorRecord } from './input-applier.js';
import type { SearchRequest, Table } from './table.js';
import { appendToTopic, headerValue, type BridgeRecord } from './topic-bridge.js';

const QUERY_FIELDS = new Set(['vector', 'text', 'k', 'filter', 'ef', 'column', 'consistency', 'after_offset', 'include_vectors']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turns a query value into a SearchRequest; types beyond shape are checked by Table.search. */
export function parseQuery(value: Buffer | null): SearchRequest {
  if (value === null) throw new TableError('INVALID_QUERY', 'query value is empty');
  let q: unknown;
  try {
    q = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new TableError('INVALID_QUERY', `query is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(q)) throw new TableError('INVALID_QUERY', 'query must be a JSON object');
  for (const k of Object.keys(q)) if (!QUERY_FIELDS.has(k)) throw new TableError('INVALID_QUERY', `unknown query field ${JSON.stringify(k)}`);
  const req: SearchRequest = {};
  if (q.vector !== undefined) {
    if (!Array.isArray(q.vector)) throw new TableError('INVALID_QUERY', 'vector must be an array of numbers');
    req.vector = q.vector as number[];
  }
  if (q.text !== undefined) req.text = q.text as string;
  if (q.k !== undefined) req.k = q.k as number;
  if (q.ef !== undefined) req.ef = q.ef as number;
  if (q.filter !== undefined) req.filter = q.filter as Filter;
  if (q.column !== undefined) req.column = q.column as string;
  if (q.consistency !== undefined) req.consistency = q.consistency as 'eventual' | 'strong';
  if (q.after_offset !== undefined) req.afterOffset = q.after_offset as number;
  if (q.include_vectors !== undefined) req.includeVectors = q.include_vectors === true;
  return req;
}

export class QueryServer {
  answered = 0;
  failed = 0;

  constructor(
    private readonly broker: Broker,
    private readonly table: () => Promise<Table>,
    private readonly errorsTopic: string,
  ) {}

  async handle(records: BridgeRecord[]): Promise<void> {
    const table = await this.table();
    const replies = new Map<string, BatchInputRecord[]>();
    const errors: BatchInputRecord[] = [];
    const answers = await Promise.all(records.map((rec) => this.answer(table, rec)));
    records.forEach((rec, i) => {
      const a = answers[i]!;
      if ('unanswerable' in a) {
        errors.push(errorRecord(rec, 'INVALID_QUERY', a.unanswerable));
        return;
      }
      const list = replies.get(a.topic) ?? [];
      list.push(a.record);
      replies.set(a.topic, list);
      if (a.failed) errors.push(errorRecord(rec, a.failed.code, a.failed.message));
    });
    for (const [topic, recs] of replies) await appendToTopic(this.broker, topic, recs);
    await appendToTopic(this.broker, this.errorsTopic, errors);
  }

  private async answer(
    table: Table,
    rec: BridgeRecord,
  ): Promise<{ topic: string; record: BatchInputRecord; failed?: { code: string; message: string } } | { unanswerable: string }> {
    const replyTopic = headerValue(rec.headers, 'reply-topic');
    const correlationId = headerValue(rec.headers, 'correlation-id');
    if (replyTopic === undefined) return { unanswerable: 'query record has no reply-topic header' };
    const bad = validateTopicName(replyTopic);
    if (bad) return { unanswerable: `reply-topic: ${bad}` };
    // Replies must never land in a changelog, input or internal topic.
    if (replyTopic.startsWith('_floe.') || replyTopic.startsWith('__')) return { unanswerable: `reply-topic ${replyTopic} is reserved` };
    const headers: Array<{ key: string; value: string }> = [];
    if (correlationId !== undefined) headers.push({ key: 'correlation-id', value: correlationId });
    try {
      const hits = await table.search(parseQuery(rec.value));
      this.answered++;
      return {
        topic: replyTopic,
        record: { key: correlationId ?? null, value: JSON.stringify({ correlation_id: correlationId ?? null, hits }), headers },
      };
    } catch (err) {
      if (!(err instanceof TableError)) throw err;
      this.failed++;
      headers.push({ key: 'error', value: err.message });
      return {
        topic: replyTopic,
        record: { key: correlationId ?? null, value: JSON.stringify({ correlation_id: correlationId ?? null, error: { code: err.code, message: err.message } }), headers },
        failed: { code: err.code, message: err.message },
      };
    }
  }
}
