// Thin typed requests over the CLI's BrokerConnection, for tests that need precise control of the wire.
import { BrokerConnection } from '../../broker/client/connection.js';
import type { Api } from '../../broker/client/apis.js';
import { CreateTopics, Fetch, Produce } from '../../broker/client/apis.js';
import type { Input } from '../../broker/protocol/primitives/codec-helpers.js';
import { decodeBatches, type DecodedBatch } from '../../broker/protocol/records/records.js';

export const PRODUCE_VERSION = 9;
export const FETCH_VERSION = 12;
export const CREATE_TOPICS_VERSION = 5;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function request<Req, Res>(conn: BrokerConnection, api: Api<Req, Res>, version: number, req: Input<Req>, timeoutMs = 10_000): Promise<Res> {
  return conn.send(api.key, version, (w) => api.write(w, version, req), api.read, { timeoutMs });
}

export function connect(port: number, clientId = 'floe-robustness'): Promise<BrokerConnection> {
  return BrokerConnection.open({ host: '127.0.0.1', port, clientId, connectTimeoutMs: 2_000, requestTimeoutMs: 10_000 });
}

/** Keeps one live connection, reopening it (with a short backoff) while the broker is down. */
export class ReconnectingConnection {
  private conn: BrokerConnection | null = null;
  private opening: Promise<BrokerConnection> | null = null;
  reconnects = 0;

  constructor(
    private readonly port: number,
    private readonly giveUpAfterMs = 30_000,
  ) {}

  get(): Promise<BrokerConnection> {
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async open(): Promise<BrokerConnection> {
    const deadline = Date.now() + this.giveUpAfterMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const c = await connect(this.port, 'floe-crash-producer');
        if (this.conn) this.reconnects++;
        this.conn = c;
        return c;
      } catch (e) {
        lastError = e;
        await sleep(50);
      }
    }
    throw new Error(`could not reconnect to 127.0.0.1:${this.port} within ${this.giveUpAfterMs} ms: ${String(lastError)}`);
  }

  close(): void {
    this.conn?.close();
    this.conn = null;
  }
}

export async function createTopic(conn: BrokerConnection, name: string, partitions: number): Promise<void> {
  const res = await request(conn, CreateTopics, CREATE_TOPICS_VERSION, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1 }],
    timeoutMs: 10_000,
  });
  const t = res.topics[0];
  if (!t || t.errorCode !== 0) throw new Error(`CreateTopics ${name} failed: ${JSON.stringify(t)}`);
}

export interface ProduceOutcome {
  errorCode: number;
  baseOffset: number;
  errorMessage: string | null;
}

export async function produce(conn: BrokerConnection, topic: string, partition: number, batch: Buffer, acks = -1, timeoutMs = 10_000): Promise<ProduceOutcome> {
  const res = await request(
    conn,
    Produce,
    PRODUCE_VERSION,
    { transactionalId: null, acks, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] },
    timeoutMs,
  );
  const p = res.responses[0]?.partitionResponses[0];
  if (!p) throw new Error(`Produce response without a partition: ${JSON.stringify(res)}`);
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset), errorMessage: p.errorMessage };
}

export interface FetchedPartition {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  batches: DecodedBatch[];
}

export async function fetchOnce(conn: BrokerConnection, topic: string, partition: number, offset: number, maxBytes = 1 << 20): Promise<FetchedPartition> {
  const res = await request(conn, Fetch, FETCH_VERSION, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
  });
  const p = res.responses[0]?.partitions[0];
  if (res.errorCode !== 0 || !p) throw new Error(`Fetch failed: error ${res.errorCode}`);
  const batches = p.records && p.records.length > 0 ? await decodeBatches(p.records) : [];
  return { errorCode: p.errorCode, highWatermark: Number(p.highWatermark), logStartOffset: Number(p.logStartOffset), batches };
}

/** Every batch of a partition from `from` up to the high watermark. */
export async function fetchAll(conn: BrokerConnection, topic: string, partition: number, from = 0): Promise<{ highWatermark: number; batches: DecodedBatch[] }> {
  const batches: DecodedBatch[] = [];
  let offset = from;
  for (;;) {
    const f = await fetchOnce(conn, topic, partition, offset);
    if (f.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}@${offset}: error ${f.errorCode}`);
    if (offset >= f.highWatermark) return { highWatermark: f.highWatermark, batches };
    const fresh = f.batches.filter((b) => Number(b.header.baseOffset) + b.header.lastOffsetDelta >= offset);
    if (fresh.length === 0) throw new Error(`Fetch ${topic}-${partition}@${offset} made no progress below high watermark ${f.highWatermark}`);
    for (const b of fresh) batches.push(b);
    const last = fresh[fresh.length - 1]!;
    offset = Number(last.header.baseOffset) + last.header.lastOffsetDelta + 1;
  }
}
