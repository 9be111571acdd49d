// `floe produce <topic>`: one record per input line (or per --format match), or one --value.
import { Command, InvalidArgumentError, Option } from 'commander';
import { Compression } from '../../../broker/protocol/records/batch-header.js';
import { UsageError } from '../../../broker/client/errors.js';
import type { KafkaClient } from '../../../broker/client/kafka-client.js';
import { Producer, type ProduceResult, type ProducerRecord } from '../../../broker/client/producer.js';
import { InputParser, type ParsedInput } from '../format/record-format.js';
import { intArg, keyValue, out, Progress, unescape, withBrokers, withClient } from './common.js';

const CODECS: Record<string, Compression> = {
  none: Compression.None,
  gzip: Compression.Gzip,
  snappy: Compression.Snappy,
  lz4: Compression.Lz4,
  zstd: Compression.Zstd,
};

interface ProduceOptions {
  key?: string;
  header?: Array<[string, string]>;
  partition?: number;
  compression: string;
  acks: -1 | 0 | 1;
  format: string;
  keyDelimiter?: string;
  value?: string;
  idempotence: boolean;
  quiet?: boolean;
}

function parseAcks(v: string): -1 | 0 | 1 {
  if (v === '-1' || v === 'all') return -1;
  if (v === '0') return 0;
  if (v === '1') return 1;
  throw new InvalidArgumentError('acks must be -1 (all), 0 or 1');
}

/** A format that splits each line at the first delimiter into key and value. */
function delimiterFormat(delim: string): string {
  const d = unescape(delim);
  if (d.length === 0) throw new UsageError('--key-delimiter must not be empty');
  return `%k${d.replace(/\\/g, '\\\\').replace(/%/g, '%%')}%v\\n`;
}

async function* stdinChunks(): AsyncGenerator<Buffer> {
  for await (const chunk of process.stdin) yield chunk as Buffer;
}

async function produce(topic: string, o: ProduceOptions, client: KafkaClient): Promise<void> {
  const compression = CODECS[o.compression];
  if (compression === undefined) throw new UsageError(`unknown compression "${o.compression}": use none, gzip, snappy, lz4 or zstd`);
  if (o.keyDelimiter !== undefined && o.format !== '%v\\n') throw new UsageError('--key-delimiter and --format cannot be combined');
  const headers = (o.header ?? []).map(([key, value]) => ({ key, value: Buffer.from(value) }));
  const fixedKey = o.key === undefined ? undefined : Buffer.from(o.key);
  const producer = await Producer.create(client, { topic, acks: o.acks, compression, idempotent: o.idempotence });

  let sent = 0;
  let acked = 0;
  let printing: Promise<void> = Promise.resolve();
  const progress = new Progress(() => `produced ${acked}/${sent} records to ${topic}`);
  const print = (r: ProduceResult) => {
    acked++;
    if (o.quiet) return;
    out(r.offset >= 0 ? `Produced to partition ${r.partition} at offset ${r.offset}\n` : `Sent to partition ${r.partition}\n`);
  };

  const send = async (p: ParsedInput) => {
    const rec: ProducerRecord = {
      key: p.key ?? fixedKey ?? null,
      value: p.value ?? Buffer.alloc(0),
      headers,
      partition: p.partition ?? o.partition,
      timestamp: p.timestamp,
    };
    await producer.waitForCapacity();
    const result = producer.send(rec);
    sent++;
    // Printed in input order; the first failure stops the chain and is reported below.
    printing = printing.then(async () => print(await result));
    progress.tick();
  };

  if (o.value !== undefined) {
    await send({ value: Buffer.from(o.value) });
  } else {
    const parser = new InputParser(o.keyDelimiter !== undefined ? delimiterFormat(o.keyDelimiter) : o.format);
    for await (const chunk of stdinChunks()) {
      for (const p of parser.push(chunk)) await send(p);
    }
    for (const p of parser.end()) await send(p);
  }
  const flushed = producer.flush();
  await Promise.all([flushed.catch(() => undefined), printing.catch(() => undefined)]);
  progress.done();
  await printing;
  await flushed;
  if (o.quiet) out(`Produced ${acked} record(s) to ${topic}\n`);
}

export function registerProduceCommand(program: Command): void {
  withBrokers(
    program
      .command('produce')
      .description('Produce records from stdin (one per line by default) or from --value')
      .argument('<topic>', 'topic to produce to')
      .option('-k, --key <key>', 'key for every record')
      .option('-H, --header <key=value>', 'header for every record (repeatable)', keyValue)
      .option('-p, --partition <n>', 'partition for every record (default: by key hash, else sticky)', intArg('partition', 0, 2 ** 31 - 1))
      .addOption(new Option('-z, --compression <codec>', 'batch compression').choices(Object.keys(CODECS)).default('none'))
      .option('--acks <acks>', 'required acks: -1 (all), 0 or 1', parseAcks, -1 as const)
      .option('-f, --format <format>', 'input format: %k key, %v value, %p partition, %d timestamp ms; \\n \\t escapes', '%v\\n')
      .option('--key-delimiter <delim>', 'each line is key<delim>value (e.g. "\\t")')
      .option('--value <value>', 'produce this one record instead of reading stdin')
      .option('--no-idempotence', 'disable the idempotent producer (it is on by default with acks=-1)')
      .option('-q, --quiet', 'print only a final count instead of one line per record'),
  ).action(async (topic: string, o: ProduceOptions, cmd: Command) => withClient(cmd, (c) => produce(topic, o, c)));
}
