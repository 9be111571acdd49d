import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { runProcess } from '../harness/process.js';
import { PYTHON, PYTHON_SCRIPT, pythonClientAvailable, requireTool } from '../harness/tools.js';

// confluent-kafka (librdkafka) driven by test/python/floe_client_check.py.
const run = requireTool('python', pythonClientAvailable);
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const RECORDS = 100; // COUNT in the script

async function check(args: string[]): Promise<Record<string, unknown>> {
  const r = await runProcess(PYTHON, [PYTHON_SCRIPT, ...args], { timeoutMs: 110_000 });
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
}

describe.skipIf(!run)('confluent-kafka (Python) against Floe', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  for (const codec of CODECS) {
    it(`idempotent produce with ${codec}, assign() read-back`, { timeout: 120_000 }, async () => {
      const out = await check(['produce-consume', broker.bootstrap, `python-${codec}`, codec]);
      expect(out).toMatchObject({
        check: 'produce-consume',
        codec,
        produced: RECORDS,
        consumed: RECORDS,
        firstOffset: 0,
        lastOffset: RECORDS - 1,
      });
    });
  }

  it('AdminClient walk-through', { timeout: 120_000 }, async () => {
    const out = await check(['admin', broker.bootstrap]);
    expect(out).toMatchObject({ check: 'admin', ok: true, nodes: 1 });
  });

  it('subscribe() group consume with commits', { timeout: 120_000 }, async () => {
    const topic = 'python-group';
    await check(['produce-consume', broker.bootstrap, topic, 'zstd']);
    const out = await check(['group-consume', broker.bootstrap, topic, 'python-g1', String(RECORDS)]);
    expect(out).toMatchObject({
      consumed: RECORDS,
      assignment: [0],
      perPartition: { '0': RECORDS },
      committed: { '0': RECORDS },
    });
    const records = out.records as { partition: number; offset: number; key: string | null; value: string | null }[];
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    expect(records[7]!.key).toBeNull();
    expect(records[11]!.value).toBeNull();
    const again = await check(['group-consume', broker.bootstrap, topic, 'python-g1', '0']);
    expect(again).toMatchObject({ consumed: 0, assignment: [0] });
  });
});
