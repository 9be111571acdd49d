import { afterEach, describe, expect, it } from 'vitest';
import { KafkaServer } from '../../broker/server/kafka-server.js';
import { LogLimiter } from '../../broker/server/log-limiter.js';
import { RequestMemory } from '../../broker/server/request-memory.js';
import type { FrameHandler, KafkaServerOptions } from '../../broker/server/types.js';
import { defaultBrokerConfig, describeBrokerConfig, parseConnectionOverrides } from '../../broker/config/index.js';
import { correlationOf, FrameClient, request, until } from './frame-client.js';

const MiB = 1024 * 1024;
const servers: KafkaServer[] = [];
const clients: FrameClient[] = [];

async function start(handler: FrameHandler, opts: Partial<KafkaServerOptions> = {}): Promise<{ server: KafkaServer; port: number }> {
  const server = new KafkaServer({ host: '127.0.0.1', port: 0, handler, maxRequestBytes: 16 * MiB, idleTimeoutMs: 60_000, ...opts });
  servers.push(server);
  return { server, port: (await server.listen()).port };
}

async function client(port: number): Promise<FrameClient> {
  const c = await FrameClient.open(port);
  clients.push(c);
  return c;
}

const small: FrameHandler = (f) => [f.subarray(0, 8)];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close(1000)));
});

describe('request memory budget', () => {
  it('still handles a frame larger than the whole budget', async () => {
    const { server, port } = await start(small, { maxQueuedRequestBytes: MiB });
    const c = await client(port);
    c.send(request(1, Buffer.alloc(3 * MiB, 1)));
    const [res] = await c.waitFrames(1);
    expect(correlationOf(res!)).toBe(1);
    await until(() => server.requestMemory.used === 0);
  });

  it('does not deadlock when concurrent partial frames together exceed the budget', async () => {
    const { server, port } = await start(small, { maxQueuedRequestBytes: 2 * MiB });
    const cs = await Promise.all(Array.from({ length: 4 }, () => client(port)));
    cs.forEach((c, i) => c.send(request(i + 1, Buffer.alloc(3 * MiB, i))));
    const got = await Promise.all(cs.map((c) => c.waitFrames(1)));
    expect(got.map(([r]) => correlationOf(r!))).toEqual([1, 2, 3, 4]);
    await until(() => server.requestMemory.used === 0);
  });

  it('counts frames until their handler finishes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { server, port } = await start(async (f) => {
      await gate;
      return [f.subarray(0, 8)];
    });
    const c = await client(port);
    c.send(request(1, Buffer.alloc(100_000)));
    await until(() => server.requestMemory.used >= 100_000);
    release();
    await c.waitFrames(1);
    await until(() => server.requestMemory.used === 0);
  });

  it('keeps a reserve for connections holding little', () => {
    const m = new RequestMemory(80 * MiB);
    m.adjust(75 * MiB);
    expect(m.mayRead(10 * MiB)).toBe(false);
    expect(m.mayRead(1000)).toBe(true);
    m.adjust(5 * MiB);
    expect(m.mayRead(1000)).toBe(false);
    let woken = 0;
    m.wait(() => woken++, () => 1000);
    m.adjust(-10 * MiB);
    expect(woken).toBe(1);
  });

  it('does not let the connection finishing its frame over the budget eat the reserve', () => {
    const m = new RequestMemory(80 * MiB);
    m.adjust(72 * MiB); // big holders, paused at the bulk limit
    let laneHolds = 0;
    const lane = (): void => undefined;
    expect(m.claimLane(lane, () => laneHolds)).toBe(true);
    laneHolds = 90 * MiB;
    m.adjust(90 * MiB);
    expect(m.mayRead(10 * MiB)).toBe(false);
    expect(m.mayRead(1000)).toBe(true);
    m.releaseLane(lane);
    expect(m.mayRead(1000)).toBe(false);
  });
});

describe('receive timeout', () => {
  it('closes a connection whose frame stays incomplete, not one that is idle between frames', async () => {
    const { port } = await start(small, { requestReceiveTimeoutMs: 200 });
    const idle = await client(port);
    idle.send(request(1));
    await idle.waitFrames(1);
    const slow = await client(port);
    slow.socket.write(Buffer.from([0, 0, 0, 50, 0]));
    await slow.closedPromise;
    await new Promise((r) => setTimeout(r, 300));
    expect(idle.closed).toBe(false);
  });
});

describe('log limiter', () => {
  it('lets N lines per interval through and reports the suppressed count', () => {
    let now = 0;
    const l = new LogLimiter(2, 1000, 10, () => now);
    expect(l.take('a')).toEqual({ suppressed: 0 });
    expect(l.take('a')).toEqual({ suppressed: 0 });
    expect(l.take('a')).toBeNull();
    expect(l.take('a')).toBeNull();
    expect(l.take('b')).toEqual({ suppressed: 0 });
    now = 1000;
    expect(l.take('a')).toEqual({ suppressed: 2 });
  });
});

describe('limit settings', () => {
  it('parses per-IP overrides (IP literals only)', () => {
    expect([...parseConnectionOverrides('127.0.0.1:5, [::1]:7,::ffff:10.0.0.1:3')]).toEqual([
      ['127.0.0.1', 5],
      ['::1', 7],
      ['10.0.0.1', 3],
    ]);
    expect(() => parseConnectionOverrides('broker-host:5')).toThrow(/not an IP/);
    expect(() => defaultBrokerConfig({ maxConnectionsPerIpOverrides: 'x:1' })).toThrow(/maxConnectionsPerIpOverrides/);
  });

  it('shows the limits on the BROKER resource with Kafka names', () => {
    const cfg = defaultBrokerConfig({ maxConnectionsPerIp: 50, maxPartitions: 7 });
    const byName = new Map(describeBrokerConfig(cfg).map((e) => [e.name, e]));
    expect(byName.get('queued.max.request.bytes')?.value).toBe(String(512 * MiB));
    expect(byName.get('max.connections')?.value).toBe('2147483647');
    expect(byName.get('max.connections.per.ip')).toMatchObject({ value: '50', source: 'STATIC_BROKER_CONFIG' });
    expect(byName.get('max.connections.per.ip.overrides')?.value).toBe('');
    expect(byName.get('floe.request.receive.timeout.ms')?.value).toBe('30000');
    expect(byName.get('floe.max.partitions')?.value).toBe('7');
  });
});

describe('client-facing messages', () => {
  it('turn storage errors into messages without internal paths', async () => {
    const { clientErrorMessage, shownName } = await import('../../broker/core/topics.js');
    const err = Object.assign(new Error("EMFILE: too many open files, open '/srv/floe/data/topics/t/0/00000000000000000000.log'"), { code: 'EMFILE' });
    const msg = clientErrorMessage(err, 'Creating topic t');
    expect(msg).toContain('EMFILE');
    expect(msg).not.toContain('/srv');
    expect(clientErrorMessage(new TypeError('x at /srv/a.js'), 'Creating topic t')).not.toContain('/srv');
    expect(shownName('y'.repeat(1_000_000)).length).toBeLessThan(100);
  });
});
