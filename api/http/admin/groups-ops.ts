// Consumer group admin: list, describe with lag, reset, delete. Works on any broker: the group's
// coordinator is asked in-process or over the Kafka wire (group-access.ts), and partitions are
// read through broker.router (the local log, or the shared medium when led elsewhere).
import type { Broker } from '../../../broker/core/broker.js';
import { PostgresControlStore } from '../../../broker/cluster/postgres-store.js';
import { ErrorCode, errorName } from '../../../broker/protocol/generated/error-codes.js';
import { COORDINATOR_MOVED } from '../../../broker/client/group/transport.js';
import { commitGroupOffsets, deleteGroups, listGroups as listRemote } from '../../../broker/client/admin.js';
import { KafkaError } from '../../../broker/client/errors.js';
import { conflict, kafkaError, notFound, unprocessable } from '../errors.js';
import { readableLog, startOffset } from '../read.js';
import { onCoordinator, retryWhileMoving, snapshotGroup, tpKey, type GroupSnapshot } from './group-access.js';

export interface GroupOffsetView {
  topic: string;
  partition: number;
  committed_offset: number | null;
  log_end_offset: number;
  /** null when nothing is committed. */
  lag: number | null;
  member_id: string | null;
}

export interface ListedGroupView {
  group_id: string;
  protocol_type: string;
  state: string;
}

export async function listGroups(broker: Broker, states: string[]): Promise<ListedGroupView[]> {
  if (broker.cluster === null) {
    const res = broker.groups.list(states);
    if (res.errorCode !== ErrorCode.NONE) throw kafkaError(res.errorCode);
    return sortGroups(res.groups.map((g) => ({ group_id: g.groupId, protocol_type: g.protocolType, state: g.state })));
  }
  // Like kafka-consumer-groups --list: every broker's groups, plus groups that only have committed
  // offsets (no broker holds them until a client asks), which are Empty.
  const client = await broker.router.kafkaClient();
  const listed = await retryWhileMoving(broker, async () => {
    await client.metadata([]);
    return listRemote(client, states);
  });
  const out = new Map<string, ListedGroupView>(listed.map((g) => [g.groupId, { group_id: g.groupId, protocol_type: g.protocolType, state: g.state }]));
  if (states.length === 0 || states.some((s) => s.toLowerCase() === 'empty')) {
    for (const id of await committedGroupIds(broker)) if (!out.has(id)) out.set(id, { group_id: id, protocol_type: '', state: 'Empty' });
  }
  return sortGroups([...out.values()]);
}

function sortGroups(groups: ListedGroupView[]): ListedGroupView[] {
  return groups.sort((a, b) => a.group_id.localeCompare(b.group_id));
}

/** Groups with committed offsets in the cluster's PostgreSQL store. */
async function committedGroupIds(broker: Broker): Promise<string[]> {
  if (!(broker.store instanceof PostgresControlStore)) return broker.groups.store.groupIds();
  const r = await broker.store.pool.query<{ group_id: string }>('SELECT DISTINCT group_id FROM floe_offsets');
  return r.rows.map((x) => x.group_id);
}

/** A partition's end as this broker sees it: -1 for an unknown topic or partition. */
async function endOffset(broker: Broker, topic: string, partition: number): Promise<number> {
  const t = broker.topics.get(topic);
  if (!t || partition >= t.partitions) return -1;
  const view = await broker.router.view(topic, partition).catch(() => undefined);
  // No leader has started it yet: empty.
  return view?.highWatermark ?? 0;
}

/** Committed offsets and lag of every partition the group has a commit for or is assigned. */
async function offsetRows(broker: Broker, committed: Map<string, number>, owners: Map<string, string>): Promise<GroupOffsetView[]> {
  const keys = new Set([...committed.keys(), ...owners.keys()]);
  const rows: GroupOffsetView[] = [];
  for (const k of keys) {
    const [topic, p] = k.split('\u0000') as [string, string];
    const partition = Number(p);
    const end = await endOffset(broker, topic, partition);
    const c = committed.get(k) ?? null;
    rows.push({ topic, partition, committed_offset: c, log_end_offset: end, lag: c === null || end < 0 ? null : Math.max(0, end - c), member_id: owners.get(k) ?? null });
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

function exists(g: GroupSnapshot): boolean {
  return g.state !== 'Dead' || g.committed.size > 0;
}

export async function describeGroup(broker: Broker, groupId: string) {
  const g = await snapshotGroup(broker, groupId);
  if (!exists(g)) throw kafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `group '${groupId}' does not exist`);
  const owners = new Map<string, string>();
  const members = g.members.map((m) => {
    const assignments = [...m.assignment].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    for (const x of assignments) owners.set(tpKey(x.topic, x.partition), m.memberId);
    return { member_id: m.memberId, group_instance_id: m.groupInstanceId, client_id: m.clientId, client_host: m.clientHost, assignments };
  });
  const offsets = await offsetRows(broker, g.committed, owners);
  return {
    group_id: groupId,
    state: g.state === 'Dead' ? 'Empty' : g.state,
    protocol_type: g.protocolType,
    protocol: g.protocol,
    members,
    offsets,
    total_lag: offsets.reduce((n, o) => n + (o.lag ?? 0), 0),
  };
}

export type ResetTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'offset'; offset: number } | { to: 'timestamp'; timestamp: number };

/** Sets committed offsets of an inactive group (no members), like kafka-consumer-groups --reset-offsets. */
export async function resetOffsets(broker: Broker, groupId: string, topic: string, partitions: number[] | undefined, target: ResetTarget): Promise<GroupOffsetView[]> {
  if (!broker.topics.get(topic) && broker.cluster !== null) await broker.store.refresh();
  const t = broker.topics.get(topic);
  if (!t) throw notFound(`topic '${topic}' does not exist`);
  const before = await snapshotGroup(broker, groupId);
  if (before.state !== 'Empty' && before.state !== 'Dead') {
    throw conflict(`group '${groupId}' is ${before.state}: offsets can only be reset while it has no members`);
  }
  const parts = partitions ?? Array.from({ length: t.partitions }, (_, i) => i);
  const offsets = new Map<number, number>();
  for (const p of parts) {
    // Led here or elsewhere; 404 for a partition the topic does not have.
    const log = await readableLog(broker, topic, p);
    const start = log.logStartOffset ?? 0;
    let offset: number;
    switch (target.to) {
      case 'earliest':
        offset = start;
        break;
      case 'latest':
        offset = log.highWatermark;
        break;
      case 'offset':
        if (target.offset < start || target.offset > log.highWatermark) {
          throw unprocessable(`offset ${target.offset} is outside [${start}, ${log.highWatermark}] for ${topic}/${p}`);
        }
        offset = target.offset;
        break;
      case 'timestamp':
        offset = await startOffset(log, { timestamp: target.timestamp });
        break;
    }
    offsets.set(p, offset);
  }
  // An admin commit (no member, generation -1): the coordinator refuses it once the group has members.
  const failures = await onCoordinator(
    broker,
    groupId,
    async () => {
      const res = await broker.groups.commitOffsets({
        groupId,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [{ name: topic, partitions: [...offsets].map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: null })) }],
      });
      return throwIfMoved(res.flatMap((rt) => rt.partitions.map((p) => p.errorCode)));
    },
    async (client) => throwIfMoved((await commitGroupOffsets(client, groupId, topic, offsets)).map((r) => r.error?.code ?? ErrorCode.NONE)),
  );
  for (const code of failures) {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) throw conflict(`group '${groupId}' became active: offsets can only be reset while it has no members`);
    if (code !== ErrorCode.NONE) throw kafkaError(code, `group coordinator: ${errorName(code)}`);
  }
  const after = await snapshotGroup(broker, groupId);
  return (await offsetRows(broker, after.committed, new Map())).filter((o) => o.topic === topic && parts.includes(o.partition));
}

export async function deleteGroup(broker: Broker, groupId: string): Promise<void> {
  const code = await onCoordinator(
    broker,
    groupId,
    async () => throwIfMoved([(await broker.groups.deleteGroups([groupId]))[0]!.errorCode])[0]!,
    async (client) => throwIfMoved([(await deleteGroups(client, [groupId]))[0]?.error?.code ?? ErrorCode.NONE])[0]!,
  );
  if (code === ErrorCode.GROUP_ID_NOT_FOUND) throw notFound(`group '${groupId}' does not exist`);
  if (code === ErrorCode.NON_EMPTY_GROUP) throw conflict(`group '${groupId}' has active members`);
  if (code !== ErrorCode.NONE) throw kafkaError(code, `group coordinator: ${errorName(code)}`);
}

/** Coordinator-moved codes become errors, so onCoordinator asks the new coordinator. */
function throwIfMoved(codes: number[]): number[] {
  for (const c of codes) if (COORDINATOR_MOVED.has(c)) throw new KafkaError(c);
  return codes;
}
