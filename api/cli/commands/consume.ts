// `floe consume <topic>`: assign-style reading, no consumer group.
import { Command } from 'commander';
import { parseOffsetRange, PartitionConsumer } from '../../../broker/client/consumer.js';
import type { KafkaClient } from '../../../broker/client/kafka-client.js';
import { parseFormat, recordJson, renderRecord } from '../format/record-format.js';
import { intArg, Progress, withBrokers, withClient } from './common.js';

interface ConsumeOptions {
  partition?: number[];
  offset: string;
  num?: number;
  exitAtEnd?: boolean;
  format?: string;
  json?: boolean;
}

function collectPartition(v: string, prev: number[] = []): number[] {
  return [...prev, intArg('partition', 0, 2 ** 31 - 1)(v)];
}

function writeOut(b: Buffer | string): Promise<void> {
  // Respect backpressure so a slow reader of stdout does not make us buffer the whole topic.
  return new Promise((resolve) => {
    if (process.stdout.write(b)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

async function consume(topic: string, o: ConsumeOptions, client: KafkaClient): Promise<void> {
  const range = parseOffsetRange(o.offset);
  const start = range.start;
  const tokens = o.json ? null : parseFormat(o.format ?? '%v\\n');
  const consumer = await PartitionConsumer.create(client, {
    topic,
    partitions: o.partition,
    start,
    onNotice: (m) => process.stderr.write(`floe: ${m}\n`),
  });
  // -e is the range `<start>:end`; an explicit end in -o wins.
  const endSpec = range.end ?? (o.exitAtEnd ? { kind: 'end' as const } : undefined);
  const ends = endSpec === undefined ? null : await consumer.endOffsets(endSpec);
  const finished = (p: number): boolean => ends !== null && (consumer.positions.get(p) ?? Infinity) >= (ends.get(p) ?? 0);
  const releaseFinished = (): void => {
    for (const p of [...consumer.positions.keys()]) if (finished(p)) consumer.release(p);
  };
  releaseFinished();
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  let count = 0;
  const progress = o.num !== undefined ? new Progress(() => `consumed ${count}/${o.num} records from ${topic}`) : null;
  try {
    while (!stop && (o.num === undefined || count < o.num) && consumer.positions.size > 0) {
      const records = await consumer.poll();
      for (const r of records) {
        if (o.num !== undefined && count >= o.num) break;
        if (ends !== null && r.offset >= (ends.get(r.partition) ?? 0)) continue;
        await writeOut(tokens ? renderRecord(tokens, r) : recordJson(r) + '\n');
        count++;
      }
      releaseFinished();
      progress?.tick();
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    progress?.done();
  }
}

export function registerConsumeCommand(program: Command): void {
  withBrokers(
    program
      .command('consume')
      .description('Print records of a topic (follows new records until Ctrl-C unless -n, -e or an end offset is given)')
      .argument('<topic>', 'topic to read')
      .option('-p, --partition <n>', 'partition to read (repeatable; default all)', collectPartition)
      .option(
        '-o, --offset <start[:end]>',
        'where to start: start, end, <offset>, +<n> (after the log start), -<n> (before the end), @<unix-ms>, @-<duration> (1h, 30m, 10s) or @<ISO date>; ":<end>" stops before an offset, +<n> more, @<time> or the current end',
        'start',
      )
      .option('-e, --exit-at-end', 'stop at the end of each partition as it was when reading started')
      .option('-n, --num <n>', 'stop after n records', intArg('num', 1))
      .option('-f, --format <format>', 'output format: %t %p %o %d %k %v %h; \\n \\t escapes (default "%v\\n")')
      .option('--json', 'one JSON object per record: topic, partition, offset, timestamp, key, value, headers'),
  ).action(async (topic: string, o: ConsumeOptions, cmd: Command) => withClient(cmd, (c) => consume(topic, o, c)));
}
