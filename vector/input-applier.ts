// Applies records from a table's input topic. A JSON object value upserts that row; a null value
// deletes the record's key. A record that fails is skipped and copied to the errors topic with the
// reason in headers; valid neighbours still apply, in order.
import type { Broker } from '../broker/core/broker.js';
import type { BatchInputRecord } from '../broker/protocol/records/records.js';
import { TableError } from './errors.js';
import { parseKey, type KeyType } from './kafka-changelog.js';
import type { Key } from './rows.js';
import type { Table } from './table.js';
import { appendToTopic, type BridgeRecord } from './topic-bridge.js';

type Op = { kind: 'upsert'; row: Record<string, unknown>; rec: BridgeRecord } | { kind: 'delete'; key: Key; rec: BridgeRecord };

export interface ApplyStats {
  applied: number;
  rejected: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Error record: the original key/value/headers plus why it failed and where it came from. */
export function errorRecord(rec: BridgeRecord, code: string, message: string): BatchInputRecord {
  return {
    key: rec.key,
    value: rec.value,
    headers: [
      ...rec.headers.map((h) => ({ key: h.key, value: h.value })),
      { key: 'error', value: message },
      { key: 'error-code', value: code },
      { key: 'source-topic', value: rec.topic },
      { key: 'source-partition', value: String(rec.partition) },
      { key: 'source-offset', value: String(rec.offset) },
    ],
  };
}

export class InputApplier {
  readonly stats: ApplyStats = { applied: 0, rejected: 0 };

  constructor(
    private readonly broker: Broker,
    private readonly table: () => Promise<Table>,
    private readonly errorsTopic: string,
  ) {}

  async handle(records: BridgeRecord[]): Promise<void> {
    const table = await this.table();
    const schema = table.describe();
    const keyType = schema.columns.find((c) => c.name === schema.primaryKey)!.type as KeyType;
    const failures: BatchInputRecord[] = [];
    const ops: Op[] = [];
    for (const rec of records) {
      const op = this.parse(rec, schema.primaryKey, keyType);
      if ('error' in op) failures.push(errorRecord(rec, 'INVALID_ROW', op.error));
      else ops.push(op);
    }
    // Runs of the same kind go in one write; a run that fails is retried record by record.
    let i = 0;
    while (i < ops.length) {
      let j = i + 1;
      while (j < ops.length && ops[j]!.kind === ops[i]!.kind) j++;
      await this.applyRun(table, ops.slice(i, j), failures);
      i = j;
    }
    this.stats.rejected += failures.length;
    // Reported in the order they were produced.
    const offsetOf = (r: BatchInputRecord): number => Number(r.headers!.find((h) => h.key === 'source-offset')!.value);
    failures.sort((a, b) => offsetOf(a) - offsetOf(b));
    await appendToTopic(this.broker, this.errorsTopic, failures);
  }

  private parse(rec: BridgeRecord, pk: string, keyType: KeyType): Op | { error: string } {
    if (rec.value === null) {
      const key = parseKey(rec.key, keyType);
      if (key === undefined) return { error: `a delete (null value) needs a record key that is a valid ${keyType} primary key` };
      return { kind: 'delete', key, rec };
    }
    let row: unknown;
    try {
      row = JSON.parse(rec.value.toString('utf8'));
    } catch (err) {
      return { error: `value is not JSON: ${(err as Error).message}` };
    }
    if (!isObject(row)) return { error: 'value must be a JSON object (one row)' };
    if (row[pk] === undefined) {
      // The record key may carry the primary key instead of the row.
      const key = parseKey(rec.key, keyType);
      if (key !== undefined) row[pk] = key;
    }
    return { kind: 'upsert', row, rec };
  }

  private async applyRun(table: Table, run: Op[], failures: BatchInputRecord[]): Promise<void> {
    const write = (ops: Op[]) =>
      ops[0]!.kind === 'upsert'
        ? table.upsert(ops.map((o) => (o as Extract<Op, { kind: 'upsert' }>).row))
        : table.delete(ops.map((o) => (o as Extract<Op, { kind: 'delete' }>).key));
    try {
      await write(run);
      this.stats.applied += run.length;
      return;
    } catch (err) {
      if (!(err instanceof TableError) || !isRecordError(err)) throw err;
    }
    for (const op of run) {
      try {
        await write([op]);
        this.stats.applied++;
      } catch (err) {
        if (!(err instanceof TableError) || !isRecordError(err)) throw err;
        failures.push(errorRecord(op.rec, err.code, err.message));
      }
    }
  }
}

/** Errors caused by the record itself (skip it) rather than the table (retry later). */
function isRecordError(err: TableError): boolean {
  return err.code === 'INVALID_ROW' || err.code === 'INVALID_KEY' || err.code === 'INVALID_SCHEMA';
}
