import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { runProcess } from '../harness/process.js';
import { javaClientAvailable, javaClientJars, requireTool } from '../harness/tools.js';

// The Apache Kafka Java client (every built line: 4.x by default, 3.9.x when built too) driven by
// test/java's FloeClientCheck, one JVM per check.
const run = requireTool('java', javaClientAvailable);
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const RECORDS = 100; // ProduceConsumeCheck.COUNT

async function check(jar: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await runProcess('java', ['-jar', jar, ...args], { timeoutMs: 110_000 });
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
}

describe.skipIf(!run)('Java kafka-clients against Floe', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  for (const { version, jar } of run ? javaClientJars() : []) {
    const tag = version.replace(/\./g, '_');

    for (const codec of CODECS) {
      it(`${version}: idempotent produce with ${codec}, assign() read-back`, { timeout: 120_000 }, async () => {
        const topic = `java-${tag}-${codec}`;
        const out = await check(jar, ['produce-consume', broker.bootstrap, topic, codec]);
        expect(out).toMatchObject({
          check: 'produce-consume',
          clientVersion: version,
          codec,
          produced: RECORDS,
          consumed: RECORDS,
          firstOffset: 0,
          lastOffset: RECORDS - 1,
        });
      });
    }

    it(`${version}: AdminClient walk-through`, { timeout: 120_000 }, async () => {
      const out = await check(jar, ['admin', broker.bootstrap]);
      expect(out).toMatchObject({ check: 'admin', clientVersion: version, ok: true, nodes: 1 });
    });

    it(`${version}: describeTopics (paged), describeLogDirs, electLeaders, reassignments, no metadata quorum`, { timeout: 120_000 }, async () => {
      const out = await check(jar, ['admin-apis', broker.bootstrap]);
      expect(out).toMatchObject({ check: 'admin-apis', ok: true, describedPartitions: 5, logDirs: 1, election: 'not-needed', reassignments: 0, quorum: 'unsupported' });
    });

    it(`${version}: subscribe() group consume with commits`, { timeout: 120_000 }, async () => {
      const topic = `java-${tag}-group`;
      await check(jar, ['produce-consume', broker.bootstrap, topic, 'lz4']);
      const out = await check(jar, ['group-consume', broker.bootstrap, topic, `java-${tag}-g1`, String(RECORDS)]);
      expect(out).toMatchObject({
        consumed: RECORDS,
        assignment: [0],
        perPartition: { '0': RECORDS },
        committed: { '0': RECORDS },
      });
      const records = out.records as { partition: number; offset: number; key: string | null }[];
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
      expect(records[0]).toMatchObject({ partition: 0, key: 'key-0' });
      expect(records[7]!.key).toBeNull();
      // Same group again: everything is committed, nothing left to read.
      const again = await check(jar, ['group-consume', broker.bootstrap, topic, `java-${tag}-g1`, '0']);
      expect(again).toMatchObject({ consumed: 0, assignment: [0] });
    });
  }
});
