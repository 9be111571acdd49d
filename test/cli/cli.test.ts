// End-to-end: the built CLI (dist/api/cli/main.js) against a real broker from the harness.
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { runProcess, type RunResult } from '../harness/process.js';

const CLI = path.join(REPO_ROOT, 'dist/api/cli/main.js');
let broker: BrokerHandle;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
});

function floe(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<RunResult> {
  return runProcess(process.execPath, [CLI, ...args], {
    input: opts.input,
    env: { FLOE_BROKERS: broker.bootstrap, ...opts.env },
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

async function ok(args: string[], input?: string | Buffer): Promise<string> {
  const r = await floe(args, { input });
  if (r.code !== 0) throw new Error(`floe ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

async function consumeJson(topic: string, n: number, extra: string[] = []): Promise<JsonRecord[]> {
  const out = await ok(['consume', topic, '-n', String(n), '--json', ...extra]);
  return out
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as JsonRecord);
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('floe topic', () => {
  it('creates, lists, describes, alters, grows and deletes topics', async () => {
    expect(await ok(['topic', 'create', 'orders', 'audit', '-p', '3', '-c', 'retention.ms=3600000'])).toMatch(/orders\s+OK\n[\s\S]*audit\s+OK/);

    const list = await ok(['topic', 'list']);
    expect(list).toMatch(/^NAME\s+PARTITIONS\s+REPLICAS/);
    expect(list).toMatch(/\norders\s+3\s+1\n/);
    const listed = JSON.parse(await ok(['topic', 'list', '--json'])) as Array<{ name: string; partitions: number }>;
    expect(listed.filter((t) => t.name === 'orders' || t.name === 'audit').map((t) => [t.name, t.partitions])).toEqual([
      ['audit', 3],
      ['orders', 3],
    ]);

    await ok(['produce', 'orders', '-p', '1'], 'a\nb\n');
    const d = JSON.parse(await ok(['topic', 'describe', 'orders', '--json']));
    expect(d).toMatchObject({ name: 'orders', partitions: 3, replicas: 1 });
    expect(d.partitionDetails.map((p: { partition: number; logStartOffset: number; highWatermark: number }) => [p.partition, p.logStartOffset, p.highWatermark])).toEqual([
      [0, 0, 0],
      [1, 0, 2],
      [2, 0, 0],
    ]);
    expect(d.configs).toContainEqual(expect.objectContaining({ name: 'retention.ms', value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG' }));

    const text = await ok(['topic', 'describe', 'orders']);
    expect(text).toMatch(/PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+LOG-START-OFFSET\s+HIGH-WATERMARK/);
    expect(text).toMatch(/retention\.ms\s+3600000\s+DYNAMIC_TOPIC_CONFIG/);

    expect(await ok(['topic', 'alter-config', 'orders', '--set', 'retention.ms=7200000', '--set', 'cleanup.policy=compact'])).toMatch(/orders\s+OK/);
    let configs = JSON.parse(await ok(['topic', 'describe', 'orders', '--json'])).configs as Array<{ name: string; value: string; source: string }>;
    expect(configs.find((c) => c.name === 'retention.ms')?.value).toBe('7200000');
    expect(configs.find((c) => c.name === 'cleanup.policy')).toMatchObject({ value: 'compact', source: 'DYNAMIC_TOPIC_CONFIG' });
    await ok(['topic', 'alter-config', 'orders', '--delete', 'cleanup.policy']);
    configs = JSON.parse(await ok(['topic', 'describe', 'orders', '--json'])).configs;
    expect(configs.find((c) => c.name === 'cleanup.policy')).toMatchObject({ value: 'delete', source: 'DEFAULT_CONFIG' });

    expect(await ok(['topic', 'add-partitions', 'orders', '-n', '5'])).toMatch(/orders\s+OK/);
    expect(JSON.parse(await ok(['topic', 'describe', 'orders', '--json'])).partitions).toBe(5);

    expect(await ok(['topic', 'delete', 'orders', 'audit'])).toMatch(/orders\s+OK\n[\s\S]*audit\s+OK/);
    const after = JSON.parse(await ok(['topic', 'list', '--json'])) as Array<{ name: string }>;
    expect(after.map((t) => t.name)).not.toContain('orders');
  });

  it('reports Kafka errors by name with exit code 1', async () => {
    await ok(['topic', 'create', 'dup']);
    const r = await floe(['topic', 'create', 'dup']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/dup\s+TOPIC_ALREADY_EXISTS/);
    expect(r.stderr).toMatch(/^floe: topic "dup": TOPIC_ALREADY_EXISTS: .+\n$/);

    const missing = await floe(['topic', 'describe', 'no-such-topic']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('floe: unknown topic "no-such-topic"\n');
  });
});

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

describe('floe produce / consume', () => {
  it.each(CODECS)('round-trips keys, values and headers with %s compression', async (codec) => {
    const topic = `codec-${codec}`;
    await ok(['topic', 'create', topic, '-p', '1']);
    const lines = ['k1\tfirst value', 'k2\t', 'k3\tünïcødé ✓', 'k4\tvalue with\ttab'];
    const out = await ok(['produce', topic, '-z', codec, '--key-delimiter', '\\t', '-H', 'source=cli', '-H', 'n=2'], lines.join('\n') + '\n');
    expect(out.trim().split('\n')).toEqual([0, 1, 2, 3].map((i) => `Produced to partition 0 at offset ${i}`));
    const recs = await consumeJson(topic, 4);
    expect(recs.map((r) => [r.offset, r.key, r.value])).toEqual([
      [0, 'k1', 'first value'],
      [1, 'k2', ''],
      [2, 'k3', 'ünïcødé ✓'],
      [3, 'k4', 'value with\ttab'],
    ]);
    for (const r of recs) {
      expect(r.topic).toBe(topic);
      expect(r.headers).toEqual([
        { key: 'source', value: 'cli' },
        { key: 'n', value: '2' },
      ]);
    }
  });

  it('consumes from an offset, a timestamp and the end, with a custom format', async () => {
    await ok(['topic', 'create', 'positions', '-p', '1']);
    const before = Date.now();
    await ok(['produce', 'positions', '-k', 'same'], 'a\nb\nc\n');
    expect(await ok(['consume', 'positions', '-o', '1', '-n', '2', '-f', '%p:%o:%k=%v\\n'])).toBe('0:1:same=b\n0:2:same=c\n');
    expect(await ok(['consume', 'positions', '-o', `@${before - 60_000}`, '-n', '1'])).toBe('a\n');
    // From the end: only records produced after the consumer started. The consumer's start
    // time is unknown, so keep producing until it has printed one record.
    const tail = floe(['consume', 'positions', '-o', 'end', '-n', '1']);
    let done = false;
    void tail.then(() => (done = true));
    for (let i = 0; i < 60 && !done; i++) {
      await ok(['produce', 'positions', '--value', 'late']);
      await new Promise((r) => setTimeout(r, 250));
    }
    const r = await tail;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('late\n');
  });

  it('stops at the end with -e and reads relative offsets and ranges like rpk', async () => {
    await ok(['topic', 'create', 'ranges', '-p', '2']);
    await ok(['produce', 'ranges', '-p', '0'], 'a\nb\nc\nd\ne\n');
    await ok(['produce', 'ranges', '-p', '1'], 'v\nw\n');
    const fmt = ['-f', '%p:%o:%v\n'];
    const sorted = (s: string): string => s.split('\n').filter(Boolean).sort().join('\n');
    // -e exits by itself once both partitions (one with 5, one with 2 records) are read.
    expect(sorted(await ok(['consume', 'ranges', '-e', ...fmt]))).toBe('0:0:a\n0:1:b\n0:2:c\n0:3:d\n0:4:e\n1:0:v\n1:1:w');
    expect(await ok(['consume', 'ranges', '-p', '0', '-o', '-2', '-e', ...fmt])).toBe('0:3:d\n0:4:e\n');
    expect(await ok(['consume', 'ranges', '-p', '0', '-o', '+3', '-e', ...fmt])).toBe('0:3:d\n0:4:e\n');
    expect(await ok(['consume', 'ranges', '-p', '0', '-o', '1:3', ...fmt])).toBe('0:1:b\n0:2:c\n');
    expect(await ok(['consume', 'ranges', '-p', '0', '-o', '2:+1', ...fmt])).toBe('0:2:c\n');
    expect(await ok(['consume', 'ranges', '-p', '1', '-o', '@-1h:end', ...fmt])).toBe('1:0:v\n1:1:w\n');
    // -n 9 on 7 records would wait forever; with -e it stops at the end.
    expect(sorted(await ok(['consume', 'ranges', '-o', '-1', '-e', '-n', '9', ...fmt]))).toBe('0:4:e\n1:1:w');
    // An empty partition ends at once.
    await ok(['topic', 'create', 'empty-range', '-p', '1']);
    expect(await ok(['consume', 'empty-range', '-e'])).toBe('');
  });

  it('routes by explicit partition and by key hash', async () => {
    await ok(['topic', 'create', 'routed', '-p', '4']);
    expect(await ok(['produce', 'routed', '-p', '2', '--value', 'x'])).toBe('Produced to partition 2 at offset 0\n');
    expect(await ok(['consume', 'routed', '-p', '2', '-n', '1', '-f', '%p %v\\n'])).toBe('2 x\n');
    const a = await ok(['produce', 'routed', '-k', 'user-7', '--value', 'one']);
    const b = await ok(['produce', 'routed', '-k', 'user-7', '--value', 'two']);
    expect(a.replace(/offset \d+/, '')).toBe(b.replace(/offset \d+/, ''));
  });

  it('produces with acks=1 and acks=0', async () => {
    await ok(['topic', 'create', 'acks', '-p', '1']);
    expect(await ok(['produce', 'acks', '--acks', '1', '--value', 'one'])).toBe('Produced to partition 0 at offset 0\n');
    expect(await ok(['produce', 'acks', '--acks', '0', '--value', 'zero'])).toBe('Sent to partition 0\n');
    const recs = await consumeJson('acks', 2);
    expect(recs.map((r) => r.value)).toEqual(['one', 'zero']);
  });

  it('produces a large input in order and reads it all back', async () => {
    await ok(['topic', 'create', 'bulk', '-p', '3']);
    const n = 30_000;
    const input = Array.from({ length: n }, (_, i) => `${i % 97}\tmessage-${i}`).join('\n') + '\n';
    const out = await ok(['produce', 'bulk', '--key-delimiter', '\\t', '-z', 'lz4', '-q'], input);
    expect(out).toBe(`Produced ${n} record(s) to bulk\n`);
    const recs = await consumeJson('bulk', n);
    expect(recs).toHaveLength(n);
    const values = new Set(recs.map((r) => r.value));
    expect(values.size).toBe(n);
    // Per partition, offsets are dense and records keep their input order.
    for (const p of [0, 1, 2]) {
      const inP = recs.filter((r) => r.partition === p);
      expect(inP.map((r) => r.offset)).toEqual(inP.map((_, i) => i));
      const idx = inP.map((r) => Number(r.value!.slice('message-'.length)));
      expect([...idx].sort((x, y) => x - y)).toEqual(idx);
    }
  });

  it('fails cleanly: unknown topic, bad flag values, broker down', async () => {
    const unknown = await floe(['produce', 'missing-topic', '--value', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('floe: unknown topic "missing-topic"\n');

    const consumeUnknown = await floe(['consume', 'missing-topic', '-n', '1']);
    expect(consumeUnknown.code).toBe(1);
    expect(consumeUnknown.stderr).toBe('floe: unknown topic "missing-topic"\n');

    await ok(['topic', 'create', 'flags', '-p', '2']);
    const codec = await floe(['produce', 'flags', '-z', 'brotli', '--value', 'x']);
    expect(codec.code).toBe(1);
    expect(codec.stderr).toMatch(/brotli/);
    expect(codec.stderr.trim().split('\n')).toHaveLength(1);

    const part = await floe(['produce', 'flags', '-p', 'abc', '--value', 'x']);
    expect(part.code).toBe(1);
    expect(part.stderr).toMatch(/partition must be an integer/);

    const noPart = await floe(['produce', 'flags', '-p', '9', '--value', 'x']);
    expect(noPart.code).toBe(1);
    expect(noPart.stderr).toBe('floe: partition 9 does not exist: topic "flags" has 2 partition(s)\n');

    const offset = await floe(['consume', 'flags', '-o', 'yesterday', '-n', '1']);
    expect(offset.code).toBe(1);
    expect(offset.stderr).toMatch(/invalid offset "yesterday"/);

    const port = await deadPort();
    const down = await floe(['topic', 'list', '-X', `127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`floe: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`);
    const downEnv = await floe(['produce', 'x', '--value', 'v'], { env: { FLOE_BROKERS: `127.0.0.1:${port}` } });
    expect(downEnv.stderr).toBe(`floe: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`);
  });
});
