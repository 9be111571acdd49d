// `floe topic ...`: create, list, describe, delete, alter-config, add-partitions.
import { Command } from 'commander';
import { addPartitions, alterTopicConfig, createTopics, deleteTopics, describeTopicConfigs, EARLIEST, LATEST, listOffsets, type ConfigEntry, type TopicResult } from '../../../broker/client/admin.js';
import { UsageError } from '../../../broker/client/errors.js';
import type { KafkaClient, TopicInfo } from '../../../broker/client/kafka-client.js';
import { collect, intArg, keyValue, out, reportError, table, withBrokers, withClient } from './common.js';

/** Prints TOPIC/STATUS rows; each failure also gets its own line on stderr and exit code 1. */
function reportResults(results: TopicResult[]): void {
  out(table(['TOPIC', 'STATUS'], results.map((r) => [r.name, r.error ? r.error.codeName : 'OK'])));
  for (const r of results) if (r.error) reportError(`topic "${r.name}": ${r.error.message}`);
}

function replicasOf(t: TopicInfo): number {
  return t.partitions[0]?.replicas.length ?? 0;
}

async function create(names: string[], o: { partitions: number; replicas: number; config?: Array<[string, string]> }, client: KafkaClient): Promise<void> {
  const configs = Object.fromEntries(o.config ?? []);
  reportResults(await createTopics(client, names.map((name) => ({ name, partitions: o.partitions, replicationFactor: o.replicas, configs }))));
}

async function list(o: { json?: boolean; internal?: boolean }, client: KafkaClient): Promise<void> {
  const md = await client.metadata(null);
  const topics = [...md.topics.values()].filter((t) => o.internal || !t.isInternal).sort((a, b) => a.name.localeCompare(b.name));
  if (o.json) {
    out(JSON.stringify(topics.map((t) => ({ name: t.name, id: t.topicId, partitions: t.partitions.length, replicas: replicasOf(t), internal: t.isInternal }))) + '\n');
    return;
  }
  out(table(['NAME', 'PARTITIONS', 'REPLICAS'], topics.map((t) => [t.name, t.partitions.length, replicasOf(t)])));
}

interface PartitionRow {
  partition: number;
  leader: number;
  epoch: number;
  replicas: number[];
  logStartOffset: number;
  highWatermark: number;
}

async function describe(name: string, o: { json?: boolean }, client: KafkaClient): Promise<void> {
  const t = await client.topic(name);
  const ids = t.partitions.map((p) => p.partition);
  const [starts, ends] = await Promise.all([listOffsets(client, name, ids, EARLIEST), listOffsets(client, name, ids, LATEST)]);
  let configs: ConfigEntry[] | null = null;
  let configError: string | null = null;
  try {
    configs = await describeTopicConfigs(client, name);
  } catch (err) {
    configError = (err as Error).message;
  }
  const partitions: PartitionRow[] = t.partitions.map((p) => ({
    partition: p.partition,
    leader: p.leaderId,
    epoch: p.leaderEpoch,
    replicas: p.replicas,
    logStartOffset: starts.get(p.partition) ?? -1,
    highWatermark: ends.get(p.partition) ?? -1,
  }));
  if (o.json) {
    out(
      JSON.stringify({
        name: t.name,
        id: t.topicId,
        internal: t.isInternal,
        partitions: partitions.length,
        replicas: replicasOf(t),
        configs: configs?.map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, source: c.source, readOnly: c.readOnly, sensitive: c.isSensitive })) ?? null,
        ...(configError ? { configsError: configError } : {}),
        partitionDetails: partitions,
      }) + '\n',
    );
    return;
  }
  out('SUMMARY\n=======\n');
  out(table(['NAME', t.name], [['ID', t.topicId], ['PARTITIONS', partitions.length], ['REPLICAS', replicasOf(t)], ['INTERNAL', String(t.isInternal)]]));
  out('\nCONFIGS\n=======\n');
  if (configs) out(table(['KEY', 'VALUE', 'SOURCE'], configs.map((c) => [c.name, c.isSensitive ? '(sensitive)' : c.value ?? '', c.source])));
  else out(`(unavailable: ${configError})\n`);
  out('\nPARTITIONS\n==========\n');
  out(
    table(
      ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'LOG-START-OFFSET', 'HIGH-WATERMARK'],
      partitions.map((p) => [p.partition, p.leader, p.epoch, `[${p.replicas.join(' ')}]`, p.logStartOffset, p.highWatermark]),
    ),
  );
}

async function alterConfig(name: string, o: { set?: Array<[string, string]>; delete?: string[] }, client: KafkaClient): Promise<void> {
  const set = o.set ?? [];
  const del = o.delete ?? [];
  if (set.length === 0 && del.length === 0) throw new UsageError('nothing to change: give --set key=value and/or --delete key');
  const both = set.map(([k]) => k).filter((k) => del.includes(k));
  if (both.length > 0) throw new UsageError(`config "${both[0]}" is both set and deleted`);
  reportResults([await alterTopicConfig(client, name, Object.fromEntries(set), del)]);
}

export function registerTopicCommands(program: Command): void {
  const topic = program.command('topic').description('Create, list, describe, alter and delete topics');

  withBrokers(
    topic
      .command('create')
      .description('Create topics')
      .argument('<name...>', 'topic names')
      .option('-p, --partitions <n>', 'partitions per topic (-1: broker default)', intArg('partitions', -1, 1_000_000), -1)
      .option('-r, --replicas <n>', 'replication factor (-1: broker default)', intArg('replicas', -1, 32_767), -1)
      .option('-c, --config <key=value>', 'topic config (repeatable)', keyValue),
  ).action(async (names: string[], o, cmd: Command) => {
    if (o.partitions === 0) return reportError('--partitions must not be 0');
    await withClient(cmd, (c) => create(names, o, c));
  });

  withBrokers(
    topic
      .command('list')
      .alias('ls')
      .description('List topics')
      .option('--json', 'print JSON')
      .option('-i, --internal', 'include internal topics'),
  ).action(async (o, cmd: Command) => withClient(cmd, (c) => list(o, c)));

  withBrokers(
    topic.command('describe').description('Show a topic: summary, configs, partitions with offsets').argument('<name>', 'topic name').option('--json', 'print JSON'),
  ).action(async (name: string, o, cmd: Command) => withClient(cmd, (c) => describe(name, o, c)));

  withBrokers(topic.command('delete').description('Delete topics').argument('<name...>', 'topic names')).action(async (names: string[], _o, cmd: Command) =>
    withClient(cmd, async (c) => reportResults(await deleteTopics(c, names))),
  );

  withBrokers(
    topic
      .command('alter-config')
      .alias('alter')
      .description('Set or delete topic configs (IncrementalAlterConfigs)')
      .argument('<name>', 'topic name')
      .option('-s, --set <key=value>', 'set a config (repeatable)', keyValue)
      .option('-d, --delete <key>', 'delete a config, reverting to the default (repeatable)', collect),
  ).action(async (name: string, o, cmd: Command) => withClient(cmd, (c) => alterConfig(name, o, c)));

  withBrokers(
    topic
      .command('add-partitions')
      .description('Grow a topic to a total number of partitions')
      .argument('<name>', 'topic name')
      .requiredOption('-n, --num <total>', 'total partitions after the change', intArg('total', 1, 1_000_000)),
  ).action(async (name: string, o: { num: number }, cmd: Command) => withClient(cmd, async (c) => reportResults([await addPartitions(c, name, o.num)])));
}
