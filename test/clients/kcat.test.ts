import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { kcat } from '../harness/kcat.js';
import { kcatAvailable, requireTool } from '../harness/tools.js';

// kcat (librdkafka) producing with every codec, consuming with a format that shows every field,
// metadata as JSON and offsets by timestamp. Topics are auto-created by the produce.
const run = requireTool('kcat', kcatAvailable);

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
// partition, offset, key length (-1 = null), key, value length (-1 = null), value, headers
const FORMAT = '%p\\t%o\\t%K\\t%k\\t%S\\t%s\\t%h\\n';
const HEADERS = 'h1=v1,h2=two words,h3=NULL';

interface Row {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: string;
}

function parseRows(stdout: string): Row[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [p, o, klen, key, vlen, value, headers] = line.split('\t');
      return {
        partition: Number(p),
        offset: Number(o),
        key: klen === '-1' ? null : (key ?? ''),
        value: vlen === '-1' ? null : (value ?? ''),
        headers: headers ?? '',
      };
    });
}

describe.skipIf(!run)('kcat (librdkafka) against Floe', () => {
  let broker: BrokerHandle;

  beforeAll(async () => {
    broker = await startBroker({ args: ['--auto-create-topics', 'true', '--num-partitions', '1'] });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const produce = (topic: string, codec: string, input: string) =>
    kcat(
      ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-z', codec, '-K', ':', '-Z',
        '-H', 'h1=v1', '-H', 'h2=two words', '-H', 'h3', '-X', 'broker.address.family=v4'],
      { input },
    );

  const consume = async (topic: string, format = FORMAT) =>
    (await kcat(['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q',
      '-f', format, '-X', 'broker.address.family=v4'])).stdout;

  for (const codec of CODECS) {
    it(`produces with -z ${codec} and reads back exact records`, async () => {
      const topic = `kcat-${codec}`;
      const big = `${codec}-`.repeat(400);
      const input = [
        `k1:v1-${codec}`,
        'k2:', // -Z: empty value -> null
        ':v3', // -Z: empty key -> null
        'no-delimiter-line', // no key delimiter -> null key
        'k5:value with: colon',
        `k6:${big}`,
      ].join('\n') + '\n';
      await produce(topic, codec, input);
      const rows = parseRows(await consume(topic));
      expect(rows).toEqual([
        { partition: 0, offset: 0, key: 'k1', value: `v1-${codec}`, headers: HEADERS },
        { partition: 0, offset: 1, key: 'k2', value: null, headers: HEADERS },
        { partition: 0, offset: 2, key: null, value: 'v3', headers: HEADERS },
        { partition: 0, offset: 3, key: null, value: 'no-delimiter-line', headers: HEADERS },
        { partition: 0, offset: 4, key: 'k5', value: 'value with: colon', headers: HEADERS },
        { partition: 0, offset: 5, key: 'k6', value: big, headers: HEADERS },
      ]);

      // A second produce appends after the first batch.
      await produce(topic, codec, 'k7:v7\n');
      const again = parseRows(await consume(topic));
      expect(again).toHaveLength(7);
      expect(again[6]).toEqual({ partition: 0, offset: 6, key: 'k7', value: 'v7', headers: HEADERS });
    });
  }

  it('-L -J lists brokers and topic partitions', async () => {
    const topic = 'kcat-meta';
    await produce(topic, 'none', 'a:b\n');
    const { stdout } = await kcat(['-L', '-J', '-b', broker.bootstrap, '-t', topic, '-X', 'broker.address.family=v4']);
    const md = JSON.parse(stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; error?: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[]; error?: string }[] }[];
    };
    expect(md.brokers).toHaveLength(1);
    const brokerInfo = md.brokers[0]!;
    expect(brokerInfo.name).toBe(broker.bootstrap);
    const t = md.topics.find((x) => x.topic === topic);
    expect(t).toBeDefined();
    expect(t!.error).toBeUndefined();
    expect(t!.partitions).toEqual([
      { partition: 0, leader: brokerInfo.id, replicas: [{ id: brokerInfo.id }], isrs: [{ id: brokerInfo.id }] },
    ]);
  });

  it('-Q finds offsets by timestamp', async () => {
    const topic = 'kcat-query';
    // Two produces, so the timestamps of the second one are strictly later.
    await produce(topic, 'gzip', 'a:1\nb:2\nc:3\n');
    await new Promise((r) => setTimeout(r, 20));
    await produce(topic, 'gzip', 'd:4\ne:5\n');
    const rows = (await consume(topic, '%o\\t%T\\n'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t').map(Number) as [number, number]);
    expect(rows.map((r) => r[0])).toEqual([0, 1, 2, 3, 4]);
    const query = async (ts: number) => {
      const { stdout } = await kcat(['-Q', '-b', broker.bootstrap, '-t', `${topic}:0:${ts}`, '-X', 'broker.address.family=v4']);
      const m = /\[0\] offset (-?\d+)/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      return Number(m![1]);
    };
    // Expected answer: first offset whose timestamp is >= the query.
    const firstAtOrAfter = (ts: number) => rows.find((r) => r[1] >= ts)?.[0] ?? -1;
    const secondBatchTs = rows[3]![1];
    expect(secondBatchTs).toBeGreaterThan(rows[2]![1]);
    expect(await query(0)).toBe(0);
    expect(await query(rows[0]![1])).toBe(firstAtOrAfter(rows[0]![1]));
    expect(await query(secondBatchTs)).toBe(3);
    expect(await query(rows[4]![1] + 60_000)).toBe(-1);
  });
});
