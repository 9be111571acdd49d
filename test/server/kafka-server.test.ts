import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaServer } from '../../broker/server/kafka-server.js';
import type { FrameHandler, KafkaServerOptions } from '../../broker/server/types.js';
import { correlationOf, deferred, FrameClient, frame, request, until, type Deferred } from './frame-client.js';

const servers: KafkaServer[] = [];
const clients: FrameClient[] = [];

async function start(
  handler: FrameHandler,
  opts: Partial<KafkaServerOptions> = {},
): Promise<{ server: KafkaServer; port: number }> {
  const server = new KafkaServer({
    host: '127.0.0.1',
    port: 0,
    handler,
    maxRequestBytes: 16 * 1024 * 1024,
    idleTimeoutMs: 60_000,
    ...opts,
  });
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

async function client(port: number): Promise<FrameClient> {
  const c = await FrameClient.open(port);
  clients.push(c);
  return c;
}

const echo: FrameHandler = (f) => [Buffer.from(f)];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close(1000)));
});

describe('KafkaServer framing', () => {
  it('reports the real port for port 0 and echoes frames', async () => {
    const { server, port } = await start(echo);
    expect(port).toBeGreaterThan(0);
    const c = await client(port);
    c.send(request(7, Buffer.from('ping')));
    const [res] = await c.waitFrames(1);
    expect(correlationOf(res!)).toBe(7);
    expect(res!.subarray(8).toString()).toBe('ping');
    expect(server.connectionCount).toBe(1);
    expect(server.requests).toBe(1);
    expect(server.bytesIn).toBe(4 + 12);
    expect(server.bytesOut).toBe(4 + 12);
  });

  it('handles a frame written in many small pieces and many frames in one write', async () => {
    const seen: number[] = [];
    const { port } = await start((f) => {
      seen.push(correlationOf(f));
      return [f.subarray(4, 8)];
    });
    const c = await client(port);
    const wire = frame(request(1, Buffer.from('x'.repeat(100))));
    for (let i = 0; i < wire.length; i += 3) {
      c.socket.write(wire.subarray(i, i + 3));
      await new Promise((r) => setImmediate(r));
    }
    await c.waitFrames(1);
    const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => frame(request(100 + i))));
    c.socket.write(batch);
    const frames = await c.waitFrames(51);
    expect(frames.map((f) => f.readInt32BE(0))).toEqual([1, ...Array.from({ length: 50 }, (_, i) => 100 + i)]);
    expect(seen).toEqual([1, ...Array.from({ length: 50 }, (_, i) => 100 + i)]);
  });

  it('passes an 8 MiB frame intact and sends a multi-buffer response with the right prefix', async () => {
    const size = 8 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
    const { port } = await start((f) => {
      const digest = createHash('sha256').update(f.subarray(8)).digest();
      // Response in three parts, the last one large, to exercise the summed size prefix.
      return [f.subarray(0, 8), digest, f.subarray(8)];
    });
    const c = await client(port);
    c.send(request(42, payload));
    const [res] = await c.waitFrames(1);
    expect(res!.length).toBe(8 + 32 + size);
    expect(correlationOf(res!)).toBe(42);
    expect(res!.subarray(8, 40).equals(createHash('sha256').update(payload).digest())).toBe(true);
    expect(res!.subarray(40).equals(payload)).toBe(true);
  });
});

describe('KafkaServer ordering', () => {
  it('writes responses in request order when handlers resolve in reverse', async () => {
    const n = 20;
    const pending: Array<Deferred<Buffer[] | null>> = [];
    const { port } = await start((f) => {
      const d = deferred<Buffer[] | null>();
      pending[correlationOf(f)] = d;
      return d.promise.then((body) => body);
    });
    const c = await client(port);
    for (let i = 0; i < n; i++) c.send(request(i));
    await until(() => pending.filter(Boolean).length === n);
    // Handlers run concurrently: all n were dispatched before any completed.
    for (let i = n - 1; i >= 0; i--) {
      // Every third request has no response (acks=0 style).
      pending[i]!.resolve(i % 3 === 1 ? null : [request(i)]);
      await new Promise((r) => setImmediate(r));
      if (i > 0) expect(c.frames).toHaveLength(0);
    }
    const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
    const frames = await c.waitFrames(expected.length);
    expect(frames.map(correlationOf)).toEqual(expected);
  });

  it('a null response does not hold back later responses', async () => {
    const { port } = await start((f) => (correlationOf(f) === 1 ? null : [request(correlationOf(f))]));
    const c = await client(port);
    c.send(request(1));
    c.send(request(2));
    const [res] = await c.waitFrames(1);
    expect(correlationOf(res!)).toBe(2);
  });
});

describe('KafkaServer bad input', () => {
  for (const [label, size] of [
    ['oversized', 0x7fffffff],
    ['negative', -5],
  ] as const) {
    it(`closes only the connection that sends a ${label} size prefix`, async () => {
      let calls = 0;
      const { server, port } = await start(
        (f) => {
          calls++;
          return [f];
        },
        { maxRequestBytes: 1024 },
      );
      const good = await client(port);
      const bad = await client(port);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size, 0);
      bad.socket.write(prefix);
      await bad.closedPromise;
      expect(calls).toBe(0);
      good.send(request(9));
      const [res] = await good.waitFrames(1);
      expect(correlationOf(res!)).toBe(9);
      await until(() => server.connectionCount === 1);
      expect(good.closed).toBe(false);
    });
  }

  it('a throwing or rejecting handler closes only that connection', async () => {
    const { server, port } = await start((f) => {
      const id = correlationOf(f);
      if (id === 666) throw new Error('cannot parse');
      if (id === 667) return Promise.reject(new Error('async failure'));
      return [request(id)];
    });
    const a = await client(port);
    const b = await client(port);
    const c = await client(port);
    a.send(request(666));
    b.send(request(667));
    await Promise.all([a.closedPromise, b.closedPromise]);
    c.send(request(5));
    const [res] = await c.waitFrames(1);
    expect(correlationOf(res!)).toBe(5);
    await until(() => server.connectionCount === 1);
  });

  it('answers earlier pipelined requests before closing for a failed one, and none after it', async () => {
    const { port } = await start(async (f) => {
      const id = correlationOf(f);
      if (id === 2) throw new Error('cannot parse');
      // The earlier request finishes after the failing one.
      if (id === 1) await new Promise((r) => setTimeout(r, 50));
      return [request(id)];
    });
    const a = await client(port);
    a.send(request(1));
    a.send(request(2));
    a.send(request(3));
    await a.closedPromise;
    expect(a.frames.map(correlationOf)).toEqual([1]);
  });

  it('never answers a request after a failed one, even one that finished first', async () => {
    const { port } = await start(async (f) => {
      const id = correlationOf(f);
      // 1 is slow, 2 fails after 3 has already finished.
      if (id === 1) await new Promise((r) => setTimeout(r, 80));
      if (id === 2) {
        await new Promise((r) => setTimeout(r, 40));
        throw new Error('late failure');
      }
      return [request(id)];
    });
    const a = await client(port);
    a.send(request(1));
    a.send(request(2));
    a.send(request(3));
    await a.closedPromise;
    expect(a.frames.map(correlationOf)).toEqual([1]);
  });

  it('survives a client resetting the connection mid-request', async () => {
    const started = deferred<void>();
    const { server, port } = await start(async (f) => {
      started.resolve();
      await new Promise((r) => setTimeout(r, 20));
      return [f];
    });
    const a = await client(port);
    a.send(request(1));
    await started.promise;
    a.socket.resetAndDestroy();
    await until(() => server.connectionCount === 0);
    const b = await client(port);
    b.send(request(2));
    expect(correlationOf((await b.waitFrames(1))[0]!)).toBe(2);
  });
});

describe('KafkaServer connection lifecycle', () => {
  it('closes idle connections', async () => {
    const { server, port } = await start(echo, { idleTimeoutMs: 150 });
    const disconnected = new Promise((r) => server.once('disconnect', r));
    const c = await client(port);
    c.send(request(1));
    await c.waitFrames(1);
    await c.closedPromise;
    await disconnected;
    expect(server.connectionCount).toBe(0);
  });

  it('does not treat a connection with a slow in-flight request as idle', async () => {
    const slow = deferred<Buffer[] | null>();
    const dispatched = deferred<void>();
    const { server, port } = await start(
      () => {
        dispatched.resolve();
        return slow.promise;
      },
      { idleTimeoutMs: 50 },
    );
    const c = await client(port);
    c.send(request(3));
    await dispatched.promise;
    // Several idle periods pass while the handler is outstanding.
    await new Promise((r) => setTimeout(r, 250));
    expect(c.closed).toBe(false);
    slow.resolve([request(3)]);
    expect(correlationOf((await c.waitFrames(1))[0]!)).toBe(3);
    await c.closedPromise; // then idles out
    await until(() => server.connectionCount === 0);
  });

  it('answers requests sent before the client half-closes', async () => {
    const { port } = await start(async (f) => {
      await new Promise((r) => setTimeout(r, 10));
      return [f];
    });
    const c = await client(port);
    c.send(request(1));
    c.send(request(2));
    c.socket.end();
    await c.closedPromise;
    expect(c.frames.map(correlationOf)).toEqual([1, 2]);
  });

  it('graceful close waits for an in-flight handler and flushes its response', async () => {
    const gate = deferred<Buffer[] | null>();
    const dispatched = deferred<void>();
    const { server, port } = await start((f) => {
      if (correlationOf(f) === 1) {
        dispatched.resolve();
        return gate.promise;
      }
      return [f];
    });
    const busy = await client(port);
    const idle = await client(port);
    busy.send(request(1));
    await dispatched.promise;
    let closed = false;
    const closing = server.close(10_000).then(() => {
      closed = true;
    });
    await idle.closedPromise; // idle connections are ended at once
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    expect(busy.closed).toBe(false);
    await expect(FrameClient.open(port)).rejects.toThrow(); // no longer accepting
    gate.resolve([request(1, Buffer.from('last'))]);
    await closing;
    await busy.closedPromise;
    expect(busy.frames.map(correlationOf)).toEqual([1]);
    expect(busy.frames[0]!.subarray(8).toString()).toBe('last');
    expect(server.connectionCount).toBe(0);
  });

  it('graceful close gives up after the timeout and destroys stuck connections', async () => {
    const { server, port } = await start(() => new Promise<Buffer[] | null>(() => undefined));
    const c = await client(port);
    c.send(request(1));
    await until(() => server.requests === 1);
    await server.close(100);
    await c.closedPromise;
    expect(c.frames).toHaveLength(0);
    expect(server.connectionCount).toBe(0);
  });
});

describe('KafkaServer backpressure', () => {
  it('stops reading from a client that does not read its responses', async () => {
    const big = Buffer.alloc(1024 * 1024, 7);
    const { server, port } = await start((f) => [f.subarray(0, 8), big], {
      writeHighWaterBytes: 1024 * 1024,
    });
    let pauses = 0;
    server.on('backpressure', (_c, paused) => {
      if (paused) pauses++;
    });
    const c = await client(port);
    c.socket.pause(); // never read until told
    const total = 300;
    for (let i = 0; i < total; i++) c.send(request(i));
    // Wait until the server paused and stopped dispatching.
    await until(() => server.connectionStats()[0]?.paused === true);
    let last = -1;
    while (server.requests !== last) {
      last = server.requests;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [stats] = server.connectionStats();
    expect(pauses).toBeGreaterThan(0);
    expect(stats!.paused).toBe(true);
    // Kernel buffers absorb some responses, but far from all 300 MiB.
    expect(server.requests).toBeLessThan(total / 2);
    expect(stats!.writableLength).toBeLessThan(1024 * 1024 + big.length + 64);
    // Once the client reads, everything arrives in order.
    c.socket.resume();
    const frames = await c.waitFrames(total);
    expect(frames.map(correlationOf)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(server.requests).toBe(total);
  });

  it('caps unanswered requests per connection at maxInFlightPerConnection', async () => {
    const gates: Array<Deferred<Buffer[] | null>> = [];
    const { server, port } = await start(
      (f) => {
        const d = deferred<Buffer[] | null>();
        gates.push(d);
        return d.promise.then(() => [f]);
      },
      { maxInFlightPerConnection: 4 },
    );
    const c = await client(port);
    for (let i = 0; i < 10; i++) c.send(request(i));
    await until(() => gates.length === 4 && server.connectionStats()[0]?.paused === true);
    await new Promise((r) => setTimeout(r, 50));
    expect(gates).toHaveLength(4);
    gates[0]!.resolve(null);
    await until(() => gates.length === 5);
    for (let i = 1; i < 10; i++) {
      await until(() => gates.length > i);
      gates[i]!.resolve(null);
    }
    const frames = await c.waitFrames(10);
    expect(frames.map(correlationOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(server.connectionStats()[0]?.paused).toBe(false);
  });
});
