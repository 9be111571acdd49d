// `floe group ...`: list, describe, delete, reset-offsets (rpk style).
import { Command, InvalidArgumentError } from 'commander';
import {
  commitGroupOffsets,
  deleteGroups,
  describeGroup,
  EARLIEST,
  fetchGroupOffsets,
  LATEST,
  listGroups,
  listOffsets,
  type GroupDescription,
} from '../../../broker/client/admin.js';
import { UsageError } from '../../../broker/client/errors.js';
import type { KafkaClient } from '../../../broker/client/kafka-client.js';
import { out, reportError, table, withBrokers, withClient } from './common.js';

const STATES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

function parseStates(v: string, prev: string[] = []): string[] {
  const next = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const s of next) {
    const known = STATES.find((k) => k.toLowerCase() === s.toLowerCase());
    if (!known) throw new InvalidArgumentError(`unknown group state "${s}" (one of ${STATES.join(', ')})`);
  }
  return [...prev, ...next.map((s) => STATES.find((k) => k.toLowerCase() === s.toLowerCase())!)];
}

function parsePartitions(v: string): number[] {
  const ps = v.split(',').map((s) => s.trim());
  if (ps.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError('--partitions takes a comma-separated list of partition numbers');
  return [...new Set(ps.map(Number))].sort((a, b) => a - b);
}

/** earliest | latest | <offset> | @<ms since epoch> */
type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'timestamp'; ms: number };

function parseTarget(v: string): ResetTarget {
  const s = v.trim();
  if (s === 'earliest' || s === 'start') return { kind: 'earliest' };
  if (s === 'latest' || s === 'end') return { kind: 'latest' };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: Number(s) };
  if (/^@\d+$/.test(s)) return { kind: 'timestamp', ms: Number(s.slice(1)) };
  throw new InvalidArgumentError(`--to must be earliest, latest, an offset or @<ms>, got "${v}"`);
}

async function list(o: { state?: string[]; json?: boolean }, client: KafkaClient): Promise<void> {
  const groups = await listGroups(client, o.state ?? []);
  if (o.json) {
    out(JSON.stringify(groups) + '\n');
    return;
  }
  out(table(['GROUP', 'STATE', 'PROTOCOL-TYPE'], groups.map((g) => [g.groupId, g.state, g.protocolType])));
}

interface PartitionLag {
  topic: string;
  partition: number;
  /** null when the group has no commit for the partition. */
  committed: number | null;
  logStart: number;
  logEnd: number;
  /** null without a commit. */
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

/** Every partition of every topic the group has commits for or is assigned, with its lag. */
async function partitionLags(client: KafkaClient, d: GroupDescription): Promise<PartitionLag[]> {
  const committed = await fetchGroupOffsets(client, d.groupId, null);
  const owner = new Map<string, GroupDescription['members'][number]>();
  for (const m of d.members) for (const [t, ps] of m.assignment) for (const p of ps) owner.set(`${t}/${p}`, m);
  const topics = new Set<string>([...committed.keys(), ...d.members.flatMap((m) => [...m.assignment.keys()])]);
  const rows: PartitionLag[] = [];
  for (const topic of [...topics].sort()) {
    const md = (await client.metadata([topic])).topics.get(topic);
    const known = md !== undefined && md.errorCode === 0;
    const parts = known ? md.partitions.map((p) => p.partition) : [...(committed.get(topic)?.keys() ?? [])].sort((a, b) => a - b);
    const [starts, ends] = known ? await Promise.all([listOffsets(client, topic, parts, EARLIEST), listOffsets(client, topic, parts, LATEST)]) : [new Map<number, number>(), new Map<number, number>()];
    for (const partition of parts) {
      const c = committed.get(topic)?.get(partition)?.offset ?? null;
      const m = owner.get(`${topic}/${partition}`);
      if (c === null && !m) continue;
      const logEnd = ends.get(partition) ?? -1;
      rows.push({
        topic,
        partition,
        committed: c,
        logStart: starts.get(partition) ?? -1,
        logEnd,
        lag: c === null || logEnd < 0 ? null : Math.max(logEnd - c, 0),
        memberId: m?.memberId ?? null,
        clientId: m?.clientId ?? null,
        host: m?.clientHost ?? null,
      });
    }
  }
  return rows;
}

async function describe(groupId: string, o: { json?: boolean }, client: KafkaClient): Promise<void> {
  const d = await describeGroup(client, groupId);
  if (d.error) throw d.error;
  const rows = await partitionLags(client, d);
  if (d.state === 'Dead' && d.members.length === 0 && rows.length === 0) throw new UsageError(`group "${groupId}" not found`);
  const totalLag = rows.reduce((n, r) => n + (r.lag ?? 0), 0);
  const members = d.members.map((m) => ({
    memberId: m.memberId,
    instanceId: m.groupInstanceId,
    clientId: m.clientId,
    host: m.clientHost,
    assignment: Object.fromEntries([...m.assignment].map(([t, ps]) => [t, ps])),
  }));
  if (o.json) {
    out(JSON.stringify({ group: d.groupId, state: d.state, protocolType: d.protocolType, protocol: d.protocol, totalLag, members, partitions: rows }) + '\n');
    return;
  }
  out(table(['GROUP', d.groupId], [['STATE', d.state], ['PROTOCOL-TYPE', d.protocolType || '-'], ['BALANCER', d.protocol || '-'], ['MEMBERS', d.members.length], ['TOTAL-LAG', totalLag]]));
  if (members.length > 0) {
    out('\n');
    out(
      table(
        ['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'],
        members.map((m) => [m.memberId, m.instanceId ?? '-', m.clientId, m.host, Object.entries(m.assignment).map(([t, ps]) => `${t}:[${ps.join(',')}]`).join(' ') || '-']),
      ),
    );
  }
  if (rows.length > 0) {
    out('\n');
    out(
      table(
        ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-START-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID', 'CLIENT-ID', 'HOST'],
        rows.map((r) => [r.topic, r.partition, r.committed ?? '-', r.logStart, r.logEnd, r.lag ?? '-', r.memberId ?? '-', r.clientId ?? '-', r.host ?? '-']),
      ),
    );
  }
}

async function remove(groupIds: string[], client: KafkaClient): Promise<void> {
  const results = await deleteGroups(client, groupIds);
  out(table(['GROUP', 'STATUS'], results.map((r) => [r.groupId, r.error ? r.error.codeName : 'OK'])));
  for (const r of results) if (r.error) reportError(`group "${r.groupId}": ${r.error.message}`);
}

interface ResetOptions {
  topic: string;
  partitions?: number[];
  to: ResetTarget;
  dryRun?: boolean;
  json?: boolean;
}

async function resetOffsets(groupId: string, o: ResetOptions, client: KafkaClient): Promise<void> {
  const d = await describeGroup(client, groupId);
  if (d.error) throw d.error;
  // Kafka only lets offsets be reset while nobody consumes: members would overwrite them.
  if (d.members.length > 0 || (d.state !== 'Empty' && d.state !== 'Dead')) {
    throw new UsageError(`group "${groupId}" is ${d.state} with ${d.members.length} member(s); reset-offsets needs an empty group (stop its consumers first)`);
  }
  const t = await client.topic(o.topic);
  const all = t.partitions.map((p) => p.partition);
  const parts = o.partitions ?? all;
  const missing = parts.filter((p) => !all.includes(p));
  if (missing.length > 0) throw new UsageError(`topic "${o.topic}" has no partition ${missing.join(', ')} (it has ${all.length})`);
  const [starts, ends] = await Promise.all([listOffsets(client, o.topic, parts, EARLIEST), listOffsets(client, o.topic, parts, LATEST)]);
  let target: Map<number, number>;
  switch (o.to.kind) {
    case 'earliest':
      target = starts;
      break;
    case 'latest':
      target = ends;
      break;
    case 'offset': {
      // Out-of-range offsets are clamped to the log, as kafka-consumer-groups does.
      const wanted = o.to.offset;
      target = new Map(parts.map((p) => [p, Math.min(Math.max(wanted, starts.get(p) ?? 0), ends.get(p) ?? wanted)]));
      break;
    }
    case 'timestamp': {
      const byTime = await listOffsets(client, o.topic, parts, o.to.ms);
      // No record at or after the time: the end of the log.
      target = new Map(parts.map((p) => [p, (byTime.get(p) ?? -1) >= 0 ? byTime.get(p)! : ends.get(p) ?? 0]));
      break;
    }
  }
  const before = (await fetchGroupOffsets(client, groupId, [{ name: o.topic, partitions: parts }])).get(o.topic);
  const plan = parts.map((p) => ({ topic: o.topic, partition: p, previous: before?.get(p)?.offset ?? null, next: target.get(p) ?? 0 }));
  let errors = new Map<number, string>();
  if (!o.dryRun) {
    const results = await commitGroupOffsets(client, groupId, o.topic, new Map(plan.map((r) => [r.partition, r.next])));
    errors = new Map(results.filter((r) => r.error).map((r) => [r.partition, r.error!.codeName]));
  }
  if (o.json) {
    out(JSON.stringify({ group: groupId, dryRun: o.dryRun === true, partitions: plan.map((r) => ({ ...r, error: errors.get(r.partition) ?? null })) }) + '\n');
  } else {
    const status = (p: number) => (o.dryRun ? 'DRY-RUN' : errors.get(p) ?? 'OK');
    out(table(['TOPIC', 'PARTITION', 'PREV-OFFSET', 'NEW-OFFSET', 'STATUS'], plan.map((r) => [r.topic, r.partition, r.previous ?? '-', r.next, status(r.partition)])));
  }
  for (const [p, e] of errors) reportError(`group "${groupId}" ${o.topic}/${p}: ${e}`);
}

export function registerGroupCommands(program: Command): void {
  const group = program.command('group').description('List, describe, delete consumer groups and reset their offsets');

  withBrokers(
    group
      .command('list')
      .alias('ls')
      .description('List consumer groups')
      .option('-s, --state <state>', `only groups in these states (comma-separated or repeated; ${STATES.join(', ')})`, parseStates)
      .option('--json', 'print JSON'),
  ).action(async (o, cmd: Command) => withClient(cmd, (c) => list(o, c)));

  withBrokers(
    group.command('describe').description('Show a group: state, members and their assignments, committed offsets and lag').argument('<group>', 'group id').option('--json', 'print JSON'),
  ).action(async (groupId: string, o, cmd: Command) => withClient(cmd, (c) => describe(groupId, o, c)));

  withBrokers(group.command('delete').description('Delete empty groups and their committed offsets').argument('<group...>', 'group ids')).action(
    async (groupIds: string[], _o, cmd: Command) => withClient(cmd, (c) => remove(groupIds, c)),
  );

  withBrokers(
    group
      .command('reset-offsets')
      .description("Set an empty group's committed offsets for a topic")
      .argument('<group>', 'group id')
      .requiredOption('-t, --topic <topic>', 'topic whose offsets to reset')
      .option('-p, --partitions <list>', 'only these partitions (comma-separated; default all)', parsePartitions)
      .requiredOption('--to <target>', 'earliest, latest, an offset, or @<ms since epoch>', parseTarget)
      .option('--dry-run', 'show the new offsets without committing them')
      .option('--json', 'print JSON'),
  ).action(async (groupId: string, o: ResetOptions, cmd: Command) => withClient(cmd, (c) => resetOffsets(groupId, o, c)));
}
