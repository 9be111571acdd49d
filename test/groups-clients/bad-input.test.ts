// Misbehaving group clients, sent as raw requests with the generated codecs, next to a healthy
// kafkajs group under continuous production: unknown groups, wrong generations, oversized
// metadata, members that never sync or heartbeat, a member id that is never used. Each gets
// Kafka's error and the healthy group keeps consuming everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { DeleteGroups, DescribeGroups, ListGroups, OffsetCommit, OffsetFetch, type Api } from '../../broker/client/apis.js';
import { KafkaClient, openNode, type NodeConnection } from '../../broker/client/kafka-client.js';
import { ErrorCode as E } from '../../broker/protocol/generated/error-codes.js';
import { defaultJoinGroupRequest, readJoinGroupResponse, writeJoinGroupRequest, type JoinGroupRequest, type JoinGroupResponse } from '../../broker/protocol/generated/join-group.js';
import { defaultSyncGroupRequest, readSyncGroupResponse, writeSyncGroupRequest, type SyncGroupRequest, type SyncGroupResponse } from '../../broker/protocol/generated/sync-group.js';
import { defaultHeartbeatRequest, readHeartbeatResponse, writeHeartbeatRequest, type HeartbeatRequest, type HeartbeatResponse } from '../../broker/protocol/generated/heartbeat.js';
import { defaultLeaveGroupRequest, readLeaveGroupResponse, writeLeaveGroupRequest, type LeaveGroupRequest, type LeaveGroupResponse } from '../../broker/protocol/generated/leave-group.js';
import { writeConsumerProtocolSubscription } from '../../broker/protocol/generated/consumer-protocol-subscription.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { ContinuousProducer, PARTITIONS, settled, verifyDelivery } from './chaos.js';
import { Member, waitFor } from './members.js';

const JoinGroup: Api<JoinGroupRequest, JoinGroupResponse> = { key: 11, name: 'JoinGroup', write: writeJoinGroupRequest, read: readJoinGroupResponse };
const Heartbeat: Api<HeartbeatRequest, HeartbeatResponse> = { key: 12, name: 'Heartbeat', write: writeHeartbeatRequest, read: readHeartbeatResponse };
const LeaveGroup: Api<LeaveGroupRequest, LeaveGroupResponse> = { key: 13, name: 'LeaveGroup', write: writeLeaveGroupRequest, read: readLeaveGroupResponse };
const SyncGroup: Api<SyncGroupRequest, SyncGroupResponse> = { key: 14, name: 'SyncGroup', write: writeSyncGroupRequest, read: readSyncGroupResponse };

const TOPIC = 'steady';
const GROUP = 'steady-group';
// kafkajs's default assigner; a raw member must offer it to join the kafkajs group.
const PROTOCOL = 'RoundRobinAssigner';
const HELD = { timeoutMs: 90_000 };

function subscription(topics: string[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolSubscription(w, 0, { topics, userData: Buffer.alloc(0), ownedPartitions: [] });
  return Buffer.concat(w.finish());
}

function joinReq(groupId: string, over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    ...defaultJoinGroupRequest(),
    groupId,
    sessionTimeoutMs: 6_000,
    rebalanceTimeoutMs: 6_000,
    protocolType: 'consumer',
    protocols: [{ name: PROTOCOL, metadata: subscription([TOPIC]) }],
    ...over,
  };
}

/** Joins with the member-id handshake (JoinGroup v4+ answers MEMBER_ID_REQUIRED first). */
async function join(conn: NodeConnection, groupId: string, over: Partial<JoinGroupRequest> = {}): Promise<JoinGroupResponse> {
  const first = await conn.send(JoinGroup, joinReq(groupId, over), HELD);
  if (first.errorCode !== E.MEMBER_ID_REQUIRED) return first;
  return conn.send(JoinGroup, joinReq(groupId, { ...over, memberId: first.memberId }), HELD);
}

function heartbeat(conn: NodeConnection, groupId: string, generationId: number, memberId: string): Promise<number> {
  return conn.send(Heartbeat, { ...defaultHeartbeatRequest(), groupId, generationId, memberId }).then((r) => r.errorCode);
}

function sync(conn: NodeConnection, groupId: string, generationId: number, memberId: string, assignments: SyncGroupRequest['assignments'] = []): Promise<SyncGroupResponse> {
  return conn.send(SyncGroup, { ...defaultSyncGroupRequest(), groupId, generationId, memberId, protocolType: 'consumer', protocolName: PROTOCOL, assignments }, HELD);
}

async function commit(conn: NodeConnection, groupId: string, generation: number, memberId: string, offset = 1): Promise<number[]> {
  const r = await conn.send(OffsetCommit, {
    groupId,
    generationIdOrMemberEpoch: generation,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{ name: TOPIC, partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' })) }],
  });
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

describe('bad group clients never wedge a healthy group', () => {
  let broker: BrokerHandle;
  let client: KafkaClient;
  let producer: ContinuousProducer;
  const conns: NodeConnection[] = [];
  const members: Member[] = [];
  const open = async () => {
    const c = await openNode('127.0.0.1', broker.kafkaPort, { requestTimeoutMs: 90_000 });
    conns.push(c);
    return c;
  };
  const spawn = (name: string) => {
    const m = Member.spawn('kafkajs', broker.bootstrap, TOPIC, GROUP, name);
    members.push(m);
    return m;
  };
  /** No rebalance happened for m since `from`: no new assignment events. */
  const assignments = (m: Member) => m.events.filter((e) => e.event === 'assigned').length;

  beforeAll(async () => {
    broker = await startBroker();
    client = await KafkaClient.connect(broker.bootstrap);
    const admin = new Kafka({ clientId: 'bad-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    producer = new ContinuousProducer(broker.bootstrap, TOPIC);
    await producer.start();
    const h1 = spawn('healthy-1');
    const h2 = spawn('healthy-2');
    await settled(client, GROUP, TOPIC, [h1, h2]);
  });
  afterAll(async () => {
    await producer?.stop().catch(() => undefined);
    for (const m of members) if (m.running) await m.kill();
    for (const c of conns) c.conn.close();
    await client?.close();
    await broker?.stop();
  });

  it('unknown groups get Kafka errors and are not created by them', async () => {
    const c = await open();
    expect(await heartbeat(c, 'ghost', 1, 'nobody')).toBe(E.UNKNOWN_MEMBER_ID);
    expect((await sync(c, 'ghost', 1, 'nobody')).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect((await c.send(JoinGroup, joinReq('ghost', { memberId: 'nobody' }))).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    const leave = await c.send(LeaveGroup, { ...defaultLeaveGroupRequest(), groupId: 'ghost', memberId: 'nobody', members: [{ memberId: 'nobody', groupInstanceId: null, reason: null }] });
    expect(c.version(LeaveGroup) >= 3 ? leave.members.map((m) => m.errorCode) : [leave.errorCode]).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(await commit(c, 'ghost', 3, 'nobody')).toEqual([E.ILLEGAL_GENERATION, E.ILLEGAL_GENERATION]);
    expect(await heartbeat(c, '', 1, 'nobody')).toBe(E.INVALID_GROUP_ID);
    const fetched = await c.send(OffsetFetch, { groupId: 'ghost', topics: null, groups: [{ groupId: 'ghost', memberId: null, memberEpoch: -1, topics: null }], requireStable: false });
    const g = c.version(OffsetFetch) >= 8 ? fetched.groups[0]! : fetched;
    expect([g.errorCode, g.topics.length]).toEqual([E.NONE, 0]);
    const d = await c.send(DescribeGroups, { groups: ['ghost'], includeAuthorizedOperations: false });
    expect(d.groups.map((x) => [x.errorCode, x.groupState, x.members.length])).toEqual([[E.NONE, 'Dead', 0]]);
    expect((await c.send(DeleteGroups, { groupsNames: ['ghost'] })).results.map((r) => r.errorCode)).toEqual([E.GROUP_ID_NOT_FOUND]);
    const listed = await c.send(ListGroups, { statesFilter: [], typesFilter: [] });
    expect(listed.groups.map((x) => x.groupId)).toEqual([GROUP]);
  });

  it('wrong generations and unknown members are refused; the right ones still work', async () => {
    const c = await open();
    const j = await join(c, 'solo');
    expect(j.errorCode).toBe(E.NONE);
    const gen = j.generationId;
    expect((await sync(c, 'solo', gen, j.memberId, [{ memberId: j.memberId, assignment: Buffer.from('x') }])).errorCode).toBe(E.NONE);
    expect(await heartbeat(c, 'solo', gen + 1, j.memberId)).toBe(E.ILLEGAL_GENERATION);
    expect(await heartbeat(c, 'solo', gen - 1, j.memberId)).toBe(E.ILLEGAL_GENERATION);
    expect((await sync(c, 'solo', gen + 5, j.memberId)).errorCode).toBe(E.ILLEGAL_GENERATION);
    expect(await commit(c, 'solo', gen + 7, j.memberId)).toEqual([E.ILLEGAL_GENERATION, E.ILLEGAL_GENERATION]);
    expect(await heartbeat(c, 'solo', gen, 'impostor')).toBe(E.UNKNOWN_MEMBER_ID);
    // None of that disturbed the member itself.
    expect(await heartbeat(c, 'solo', gen, j.memberId)).toBe(E.NONE);
    expect(await commit(c, 'solo', gen, j.memberId, 5)).toEqual([E.NONE, E.NONE]);
    // Against the healthy group: an impostor, and an admin commit while it has members.
    const [h1, h2] = members as [Member, Member];
    const before = [assignments(h1), assignments(h2)];
    expect(await heartbeat(c, GROUP, 1, 'impostor')).toBe(E.UNKNOWN_MEMBER_ID);
    expect(await commit(c, GROUP, -1, '')).toEqual([E.UNKNOWN_MEMBER_ID, E.UNKNOWN_MEMBER_ID]);
    await settled(client, GROUP, TOPIC, [h1, h2]);
    expect([assignments(h1), assignments(h2)]).toEqual(before);
  });

  it('oversized member metadata is refused without a rebalance', async () => {
    const c = await open();
    const [h1, h2] = members as [Member, Member];
    const before = [assignments(h1), assignments(h2)];
    const huge = Buffer.concat([subscription([TOPIC]), Buffer.alloc(2 * 1024 * 1024, 7)]);
    const r = await c.send(JoinGroup, joinReq(GROUP, { protocols: [{ name: PROTOCOL, metadata: huge }] }), HELD);
    expect(r.errorCode).toBe(E.INVALID_REQUEST);
    const d = await settled(client, GROUP, TOPIC, [h1, h2]);
    expect(d.members.length).toBe(2);
    expect([assignments(h1), assignments(h2)]).toEqual(before);
  });

  it('members that never sync, never heartbeat, or never use their member id are dropped', { timeout: 150_000 }, async () => {
    const [h1, h2] = members as [Member, Member];

    // Joins (held until the healthy members rejoin), then goes silent before SyncGroup.
    const silent = await open();
    const a = await join(silent, GROUP);
    expect(a.errorCode).toBe(E.NONE);
    await settled(client, GROUP, TOPIC, [h1, h2], 60_000);
    expect(await heartbeat(silent, GROUP, a.generationId, a.memberId)).toBe(E.UNKNOWN_MEMBER_ID);

    // Joins and syncs (gets partitions from the kafkajs leader), then never heartbeats.
    const lazy = await open();
    const b = await join(lazy, GROUP);
    expect(b.errorCode).toBe(E.NONE);
    const s = await sync(lazy, GROUP, b.generationId, b.memberId);
    expect(s.errorCode).toBe(E.NONE);
    await settled(client, GROUP, TOPIC, [h1, h2], 60_000);
    expect(await heartbeat(lazy, GROUP, b.generationId, b.memberId)).toBe(E.UNKNOWN_MEMBER_ID);

    // Takes a member id (MEMBER_ID_REQUIRED) and never joins with it, while a real member joins.
    const ghost = await open();
    const first = await ghost.send(JoinGroup, joinReq(GROUP));
    expect(first.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    const h3 = spawn('healthy-3');
    await settled(client, GROUP, TOPIC, [h1, h2, h3], 60_000);

    // Every record produced during all of this reached a healthy member.
    await producer.stop();
    await waitFor(
      'every produced record to be processed',
      () => {
        const got = new Set(members.flatMap((m) => m.processed.map(([p, o]) => `${p}:${o}`)));
        return [...producer.acked].every((k) => got.has(k));
      },
      45_000,
      () => members.map((m) => m.describe()).join(' | '),
    );
    for (const m of members) await m.stop();
    const { processed } = verifyDelivery(producer.acked, members);
    expect(processed).toBeGreaterThanOrEqual(producer.acked.size);
  });
});
