// Consumer group admin on the in-process coordinator: list, describe with lag, reset, delete.
import type { Broker } from '../../../broker/core/broker.js';
import { ErrorCode, errorName } from '../../../broker/protocol/generated/error-codes.js';
import { conflict, kafkaError, notFound, unprocessable } from '../errors.js';
import { decodeAssignment } from '../consumers/consumer-protocol.js';

export interface GroupOffsetView {
  topic: string;
  partition: number;
  committed_offset: number | null;
  log_end_offset: number;
  /** null when nothing is committed. */
  lag: number | null;
  member_id: string | null;
}

function check(code: number): void {
  if (code !== ErrorCode.NONE) throw kafkaError(code, `group coordinator: ${errorName(code)}`);
}

export function listGroups(broker: Broker, states: string[]): Array<{ group_id: string; protocol_type: string; state: string }> {
  const res = broker.groups.list(states);
  check(res.errorCode);
  return res.groups.map((g) => ({ group_id: g.groupId, protocol_type: g.protocolType, state: g.state })).sort((a, b) => a.group_id.localeCompare(b.group_id));
}

function hasCommits(broker: Broker, groupId: string): boolean {
  return (broker.groups.store.offsets(groupId)?.size ?? 0) > 0;
}

/** Committed offsets and lag of every partition the group has a commit for or is assigned. */
export function groupOffsets(broker: Broker, groupId: string, owners = new Map<string, string>()): GroupOffsetView[] {
  const fetched = broker.groups.fetchOffsets(groupId, null);
  check(fetched.errorCode);
  const rows = new Map<string, GroupOffsetView>();
  const row = (topic: string, partition: number, committed: number | null): void => {
    const log = broker.topics.partition(topic, partition);
    const end = log?.highWatermark ?? -1;
    rows.set(`${topic}\u0000${partition}`, {
      topic,
      partition,
      committed_offset: committed,
      log_end_offset: end,
      lag: committed === null || end < 0 ? null : Math.max(0, end - committed),
      member_id: owners.get(`${topic}\u0000${partition}`) ?? null,
    });
  };
  for (const t of fetched.topics) for (const p of t.partitions) row(t.name, p.partitionIndex, p.committedOffset >= 0 ? p.committedOffset : null);
  for (const k of owners.keys()) {
    if (rows.has(k)) continue;
    const [topic, p] = k.split('\u0000') as [string, string];
    row(topic, Number(p), null);
  }
  return [...rows.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export function describeGroup(broker: Broker, groupId: string) {
  const d = broker.groups.describe([groupId])[0]!;
  check(d.errorCode);
  if (d.state === 'Dead' && !hasCommits(broker, groupId)) throw kafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `group '${groupId}' does not exist`);
  const owners = new Map<string, string>();
  const members = d.members.map((m) => {
    const a = d.protocolType === 'consumer' ? decodeAssignment(m.assignment) : new Map<string, number[]>();
    const assignments = [...a].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    for (const x of assignments) owners.set(`${x.topic}\u0000${x.partition}`, m.memberId);
    return { member_id: m.memberId, group_instance_id: m.groupInstanceId, client_id: m.clientId, client_host: m.clientHost, assignments };
  });
  const offsets = groupOffsets(broker, groupId, owners);
  const total = offsets.reduce((n, o) => n + (o.lag ?? 0), 0);
  return {
    group_id: groupId,
    state: d.state === 'Dead' ? 'Empty' : d.state,
    protocol_type: d.protocolType,
    protocol: d.protocolName,
    members,
    offsets,
    total_lag: total,
  };
}

export type ResetTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'offset'; offset: number } | { to: 'timestamp'; timestamp: number };

/** Sets committed offsets of an inactive group (no members), like kafka-consumer-groups --reset-offsets. */
export async function resetOffsets(broker: Broker, groupId: string, topic: string, partitions: number[] | undefined, target: ResetTarget): Promise<GroupOffsetView[]> {
  const t = broker.topics.get(topic);
  if (!t) throw notFound(`topic '${topic}' does not exist`);
  const state = broker.groups.groupState(groupId);
  if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
    throw conflict(`group '${groupId}' is ${state}: offsets can only be reset while it has no members`);
  }
  const parts = partitions ?? Array.from({ length: t.partitions }, (_, i) => i);
  const commits: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }> = [];
  for (const p of parts) {
    const log = broker.topics.partition(topic, p);
    if (!log) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' has no partition ${p}`);
    let offset: number;
    switch (target.to) {
      case 'earliest':
        offset = log.logStartOffset;
        break;
      case 'latest':
        offset = log.highWatermark;
        break;
      case 'offset':
        if (target.offset < log.logStartOffset || target.offset > log.highWatermark) {
          throw unprocessable(`offset ${target.offset} is outside [${log.logStartOffset}, ${log.highWatermark}] for ${topic}/${p}`);
        }
        offset = target.offset;
        break;
      case 'timestamp':
        offset = (await log.offsetForTimestamp(target.timestamp))?.offset ?? log.highWatermark;
        break;
    }
    commits.push({ partitionIndex: p, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null });
  }
  const res = await broker.groups.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: topic, partitions: commits }] });
  for (const rt of res) for (const p of rt.partitions) {
    if (p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) throw conflict(`group '${groupId}' became active: offsets can only be reset while it has no members`);
    check(p.errorCode);
  }
  return groupOffsets(broker, groupId).filter((o) => o.topic === topic && parts.includes(o.partition));
}

export async function deleteGroup(broker: Broker, groupId: string): Promise<void> {
  const [r] = await broker.groups.deleteGroups([groupId]);
  if (r!.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) throw notFound(`group '${groupId}' does not exist`);
  if (r!.errorCode === ErrorCode.NON_EMPTY_GROUP) throw conflict(`group '${groupId}' has active members`);
  check(r!.errorCode);
}
