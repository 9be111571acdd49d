import { afterEach, describe, expect, it } from 'vitest';
import { BufferPool } from '../../broker/server/buffer-pool.js';
import { KafkaServer } from '../../broker/server/kafka-server.js';
import { releaseAfterWrite } from '../../broker/server/write-release.js';
import { correlationOf, frame, FrameClient, request, until } from './frame-client.js';

describe('BufferPool', () => {
  it('reuses a given-back buffer for the next request of the same size class', () => {
    const pool = new BufferPool(1024, 1 << 20, 1 << 22);
    const a = pool.take(3000);
    expect(a.length).toBe(3000);
    expect(pool.owns(a)).toBe(true);
    a.fill(7);
    pool.give(a.subarray(0, 10));
    expect(pool.idleBytes).toBe(4096);
    const b = pool.take(4000);
    expect(b.length).toBe(4000);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.idleBytes).toBe(0);
    // A different class gets its own buffer.
    const c = pool.take(5000);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it('does not pool small, oversized or foreign buffers and honours its cap', () => {
    const pool = new BufferPool(1024, 8192, 8192);
    expect(pool.owns(pool.take(100))).toBe(false);
    expect(pool.owns(pool.take(10_000))).toBe(false);
    const foreign = Buffer.allocUnsafeSlow(4096);
    pool.give(foreign);
    expect(pool.idleBytes).toBe(0);
    const x = pool.take(8192);
    const y = pool.take(8192);
    pool.give(x);
    pool.give(y); // over the cap: dropped
    expect(pool.idleBytes).toBe(8192);
  });

  it('refuses the same buffer twice', () => {
    const pool = new BufferPool(1024, 1 << 20, 1 << 22);
    const a = pool.take(2048);
    pool.give(a);
    expect(() => pool.give(a)).toThrow(/twice/);
  });
});

describe('release after write', () => {
  const servers: KafkaServer[] = [];
  const clients: FrameClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close(1000)));
  });

  it('calls the hook of a response buffer once the socket has written it, with the bytes intact', async () => {
    const released: string[] = [];
    const big = Buffer.alloc(256 * 1024, 0x61);
    const server = new KafkaServer({
      host: '127.0.0.1',
      port: 0,
      handler: (f) => {
        const body = Buffer.from(big);
        releaseAfterWrite(body, () => {
          released.push(`c${correlationOf(f)}`);
          body.fill(0x7a); // reuse: must not change what was already sent
        });
        return [f.subarray(4, 8), body];
      },
      idleTimeoutMs: 60_000,
    });
    servers.push(server);
    const { port } = await server.listen();
    const c = await FrameClient.open(port);
    clients.push(c);
    c.send(request(5));
    c.send(request(6));
    const frames = await c.waitFrames(2);
    await until(() => released.length === 2);
    expect(released).toEqual(['c5', 'c6']);
    for (const fr of frames) {
      expect(fr.length).toBe(4 + big.length);
      expect(fr.subarray(4).equals(big)).toBe(true);
    }
  });
});

describe('request frame reuse', () => {
  const servers: KafkaServer[] = [];
  const clients: FrameClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close(1000)));
  });

  function kafkaRequest(apiKey: number, correlationId: number, payloadBytes: number, fill: number): Buffer {
    const body = Buffer.alloc(8 + payloadBytes, fill);
    body.writeInt16BE(apiKey, 0);
    body.writeInt16BE(0, 2);
    body.writeInt32BE(correlationId, 4);
    return body;
  }

  /** Sends a frame in two writes so it spans socket chunks (the pooled path). */
  async function sendSplit(c: FrameClient, body: Buffer): Promise<void> {
    const wire = frame(body);
    c.socket.write(wire.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 20));
    c.socket.write(wire.subarray(1000));
  }

  async function serve(handler: (f: Buffer) => Promise<Buffer[] | null>): Promise<FrameClient & { port: number }> {
    const server = new KafkaServer({ host: '127.0.0.1', port: 0, handler, idleTimeoutMs: 60_000 });
    servers.push(server);
    const { port } = await server.listen();
    const c = await FrameClient.open(port);
    clients.push(c);
    return Object.assign(c, { port });
  }

  it('reuses the buffer of an answered Produce frame for the next one, and only then', async () => {
    const seen: Array<{ buffer: ArrayBufferLike; fill: number }> = [];
    const c = await serve(async (f) => {
      const fill = f[f.length - 1]!;
      seen.push({ buffer: f.buffer, fill });
      // A handler still running must keep seeing its own bytes.
      await new Promise((r) => setTimeout(r, 5));
      if (f[f.length - 1] !== fill) throw new Error('frame reused while its handler ran');
      return [f.subarray(4, 8)];
    });
    await sendSplit(c, kafkaRequest(0, 1, 200_000, 1));
    await c.waitFrames(1);
    await sendSplit(c, kafkaRequest(0, 2, 200_000, 2));
    await c.waitFrames(2);
    expect(seen[1]!.buffer).toBe(seen[0]!.buffer);
    expect(seen[1]!.fill).toBe(2);
    // Non-Produce frames are never handed back.
    await sendSplit(c, kafkaRequest(18, 10, 200_000, 3));
    await c.waitFrames(3);
    await sendSplit(c, kafkaRequest(18, 11, 200_000, 4));
    await c.waitFrames(4);
    expect(seen[2]!.buffer).toBe(seen[0]!.buffer);
    expect(seen[3]!.buffer).not.toBe(seen[2]!.buffer);
  });

  it('does not reuse the frame of a failed handler', async () => {
    const buffers: ArrayBufferLike[] = [];
    const c = await serve(async (f) => {
      buffers.push(f.buffer);
      if (f.readInt32BE(4) === 1) throw new Error('handler failure');
      return [f.subarray(4, 8)];
    });
    await sendSplit(c, kafkaRequest(0, 1, 200_000, 1));
    await c.closedPromise;
    const c2 = await FrameClient.open(c.port);
    clients.push(c2);
    await sendSplit(c2, kafkaRequest(0, 2, 200_000, 2));
    await c2.waitFrames(1);
    expect(buffers).toHaveLength(2);
    expect(buffers[1]).not.toBe(buffers[0]);
  });
});
