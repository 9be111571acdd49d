// Shared pieces of the function tests: produce straight into a node's logs, read a topic back,
// and wait for a condition.
import type { Broker } from '../../broker/core/broker.js';
import { decodeBatches, encodeBatchSync, type Record as LogRecord } from '../../broker/protocol/records/records.js';

export async function produce(broker: Broker, topic: string, values: Array<{ key?: string | null; value: string | object }>, partition?: number): Promise<void> {
  const t = broker.topics.get(topic)!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const p = partition ?? i % t.partitions;
    const value = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
    await broker.topics.partition(topic, p)!.append(encodeBatchSync({ records: [{ key: v.key ?? null, value }] }));
  }
}

export interface ReadRecord extends LogRecord {
  partition: number;
}

export async function readAll(broker: Broker, topic: string): Promise<ReadRecord[]> {
  const t = broker.topics.get(topic);
  if (!t) return [];
  const out: ReadRecord[] = [];
  for (let p = 0; p < t.partitions; p++) {
    const log = broker.topics.partition(topic, p)!;
    let pos = log.logStartOffset;
    while (pos < log.highWatermark) {
      const data = await log.read(pos, 1 << 20, { minOneBatch: true });
      const batches = await decodeBatches(data);
      if (batches.length === 0) break;
      for (const b of batches) for (const r of b.records) if (r.offset >= pos) out.push({ ...r, partition: p });
      const last = batches[batches.length - 1]!;
      pos = last.header.baseOffset + last.header.lastOffsetDelta + 1;
    }
  }
  return out;
}

export function header(r: LogRecord, name: string): string | undefined {
  return r.headers.find((h) => h.key === name)?.value?.toString('utf8');
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A function module as plain ESM (the runtime accepts any module whose default export has name + process). */
export function moduleCode(body: string): Buffer {
  return Buffer.from(body, 'utf8');
}
