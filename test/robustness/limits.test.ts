// Resource-limit attacks from anonymous clients (raw sockets) while a kafkajs client must still
// be served: partial-frame memory, the 1-byte trickle, connection limits, malformed-frame log flood.
import type net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { closedWithin, openSocket, probe, rssBytes, writeOrStall } from './raw-socket.js';

const { Kafka, logLevel } = kafkajs;
const MiB = 1024 * 1024;

async function kafkajsServed(broker: BrokerHandle, topic: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'limits-check', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const [meta] = await producer.send({ topic, messages: [{ key: 'k', value: 'still served' }] });
    expect(meta?.errorCode).toBe(0);
  } finally {
    await producer.disconnect();
  }
}

const brokers: BrokerHandle[] = [];
const sockets: net.Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(brokers.map((b) => b.stop()));
});

describe('request memory (queued.max.request.bytes)', () => {
  it('keeps RSS bounded while many connections hold partial 99 MiB frames, and serves others', async () => {
    const broker = await startBroker({ args: ['--queued-max-request-bytes', String(64 * MiB), '--request-receive-timeout-ms', '120000'] });
    brokers.push(broker);
    const before = await rssBytes(broker.pid);
    const ATTACKERS = 8;
    const FRAME = 99 * MiB;
    const chunk = Buffer.alloc(MiB, 0x41);
    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => openSocket(broker.kafkaPort)));
    sockets.push(...attackers);
    // Each sends a 99 MiB size prefix and then all but the last byte, until the broker pushes back.
    const sent = await Promise.all(
      attackers.map(async (s) => {
        const size = Buffer.alloc(4);
        size.writeInt32BE(FRAME, 0);
        s.write(size);
        let bytes = 0;
        while (bytes + chunk.length < FRAME) {
          if (!(await writeOrStall(s, chunk, 2_000))) break;
          bytes += chunk.length;
        }
        return bytes;
      }),
    );
    const after = await rssBytes(broker.pid);
    const offered = sent.reduce((a, b) => a + b, 0);
    // Without the budget the broker keeps everything offered (~8 x 98 MiB).
    expect(offered).toBeGreaterThan(64 * MiB);
    expect(after - before, `rss grew ${((after - before) / MiB).toFixed(0)} MiB for ${(offered / MiB).toFixed(0)} MiB offered`).toBeLessThan(300 * MiB);
    expect(attackers.every((s) => !s.destroyed)).toBe(true);
    await kafkajsServed(broker, 'limits-memory');
  }, 120_000);
});

describe('receive timeout and malformed frames', () => {
  let broker: BrokerHandle;

  it('closes a connection trickling one byte at a time, and serves others meanwhile', async () => {
    broker = await startBroker({ args: ['--request-receive-timeout-ms', '2000'] });
    brokers.push(broker);
    const s = await openSocket(broker.kafkaPort);
    sockets.push(s);
    const size = Buffer.alloc(4);
    size.writeInt32BE(100, 0);
    s.write(size);
    // One byte every 300 ms keeps connections.max.idle.ms (10 min) from ever firing.
    const timer = setInterval(() => {
      if (!s.destroyed) s.write(Buffer.from([0]));
    }, 300);
    try {
      await kafkajsServed(broker, 'limits-trickle');
      expect(await closedWithin(s, 20_000)).toBe('closed');
    } finally {
      clearInterval(timer);
    }
  }, 60_000);

  it('keeps the log small for 10,000 malformed frames', async () => {
    const logBefore = broker.logs().length;
    // Metadata v1 whose topic array claims a million entries: a ProtocolError per frame.
    const header = Buffer.alloc(14);
    header.writeInt16BE(3, 0);
    header.writeInt16BE(1, 2);
    header.writeInt32BE(7, 4);
    header.writeInt16BE(0, 8);
    header.writeInt32BE(1_000_000, 10);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, header.length]), header]);
    const TOTAL = 10_000;
    let next = 0;
    let closed = 0;
    const lane = async () => {
      while (next < TOTAL) {
        next++;
        const s = await openSocket(broker.kafkaPort);
        s.write(frame);
        if ((await closedWithin(s, 10_000)) === 'closed') closed++;
        s.destroy();
      }
    };
    await Promise.all(Array.from({ length: 32 }, lane));
    expect(closed).toBe(TOTAL);
    await kafkajsServed(broker, 'limits-malformed');
    const grown = broker.logs().slice(logBefore);
    expect(grown.length, grown.slice(0, 4000)).toBeLessThan(100_000);
    expect(grown).not.toMatch(/\n\s+at /);
  }, 180_000);
});

describe('connection limits', () => {
  it('closes connections over max.connections.per.ip (with overrides) and max.connections at accept', async () => {
    // The readiness probe of the harness connects from 127.0.0.1, hence the headroom there.
    const broker = await startBroker({
      args: ['--max-connections', '8', '--max-connections-per-ip', '3', '--max-connections-per-ip-overrides', '127.0.0.2:6'],
    });
    brokers.push(broker);
    const open = async (local: string) => {
      const s = await openSocket(broker.kafkaPort, local);
      sockets.push(s);
      return s;
    };
    const fromOne: net.Socket[] = [];
    for (let i = 0; i < 3; i++) fromOne.push(await open('127.0.0.1'));
    for (const s of fromOne) expect(await probe(s)).toBe('served');
    expect(await probe(await open('127.0.0.1'))).toBe('closed');

    const fromTwo: net.Socket[] = [];
    for (let i = 0; i < 5; i++) fromTwo.push(await open('127.0.0.2'));
    for (const s of fromTwo) expect(await probe(s)).toBe('served');
    // 3 + 5 = 8 = max.connections: the override would allow a 6th from 127.0.0.2, the total does not.
    expect(await probe(await open('127.0.0.2'))).toBe('closed');

    // A freed slot is usable again.
    fromOne[0]!.destroy();
    await closedWithin(fromOne[0]!, 1_000);
    let served = 'closed';
    for (let i = 0; i < 20 && served !== 'served'; i++) {
      served = await probe(await open('127.0.0.1'));
      if (served !== 'served') await new Promise((r) => setTimeout(r, 100));
    }
    expect(served).toBe('served');
  }, 60_000);
});
