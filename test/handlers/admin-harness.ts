// Runs admin requests through the real dispatcher against a real Broker on a temp data dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Broker } from '../../broker/core/broker.js';
import { loadBrokerConfig } from '../../broker/config/broker-config.js';
import { RequestDispatcher } from '../../broker/handlers/dispatch.js';
import { isFlexible } from '../../broker/protocol/frame.js';
import { Reader } from '../../broker/protocol/primitives/reader.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import type { Input } from '../../broker/protocol/primitives/codec-helpers.js';
import { writeRequestHeader } from '../../broker/protocol/generated/request-header.js';
import { encodeBatchSync } from '../../broker/protocol/records/records.js';

export interface Harness {
  broker: Broker;
  dir: string;
  call<Req, Res>(apiKey: number, version: number, write: (w: Writer, v: number, m: Input<Req>) => void, req: Input<Req>, read: (r: Reader, v: number) => Res): Promise<Res>;
  /** Sends a request and returns the raw response frame (for unsupported-version checks). */
  raw<Req>(apiKey: number, version: number, write: (w: Writer, v: number, m: Input<Req>) => void, req: Input<Req>): Promise<Buffer | null>;
  createTopic(name: string, partitions?: number, configs?: Record<string, string>): Promise<void>;
  /** Appends `count` single-record batches to a partition. */
  append(topic: string, partition: number, count: number, producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Promise<void>;
  close(): Promise<void>;
}

const CONN = { id: 1, remoteAddress: '127.0.0.1', remotePort: 50000, localPort: 9092 };
let correlation = 0;

export async function openHarness(flags: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-admin-'));
  const config = loadBrokerConfig({ flags: { dataDir: dir, kafkaPort: 19092, logLevel: 'silent', ...flags }, env: {} });
  const log = pino({ level: 'silent' });
  const broker = await Broker.open(config, log);
  const dispatcher = new RequestDispatcher(broker, log);

  const raw = async <Req>(apiKey: number, version: number, write: (w: Writer, v: number, m: Input<Req>) => void, req: Input<Req>): Promise<Buffer | null> => {
    const w = new Writer(256);
    const correlationId = ++correlation;
    writeRequestHeader(w, isFlexible(apiKey, version) ? 2 : 1, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'admin-test' });
    write(w, version, req);
    const out = await dispatcher.dispatch(Buffer.concat(w.finish()), CONN);
    if (out === null) return null;
    const frame = Buffer.concat(out);
    if (frame.readInt32BE(0) !== correlationId) throw new Error('correlation id mismatch');
    return frame;
  };

  return {
    broker,
    dir,
    raw,
    async call(apiKey, version, write, req, read) {
      const frame = await raw(apiKey, version, write, req);
      if (frame === null) throw new Error('no response');
      const r = new Reader(frame);
      r.int32();
      if (isFlexible(apiKey, version)) r.taggedFields();
      const res = read(r, version);
      if (r.pos !== frame.length) throw new Error(`response has ${frame.length - r.pos} trailing bytes`);
      return res;
    },
    async createTopic(name, partitions = 1, configs = {}) {
      await broker.topics.create({ name, partitions, replicationFactor: -1, configs });
    },
    async append(topic, partition, count, producer) {
      const log = broker.topics.partition(topic, partition);
      if (!log) throw new Error(`no log for ${topic}-${partition}`);
      for (let i = 0; i < count; i++) {
        const batch = encodeBatchSync({
          records: [{ key: `k${i}`, value: `v${i}` }],
          ...(producer ? { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: producer.baseSequence + i } : {}),
        });
        await log.append(batch);
      }
    },
    async close() {
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
