// Each group API handler, at every version it advertises: request in, response encoded and
// decoded again with the generated codecs (catches fields a version cannot carry).
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Broker } from '../../broker/core/broker.js';
import type { ApiHandler, RequestContext } from '../../broker/handlers/types.js';
import type { GroupCoordinator } from '../../broker/groups/group-coordinator.js';
import { Reader } from '../../broker/protocol/primitives/reader.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import findCoordinator from '../../broker/handlers/find-coordinator.js';
import joinGroup from '../../broker/handlers/join-group.js';
import syncGroup from '../../broker/handlers/sync-group.js';
import heartbeat from '../../broker/handlers/heartbeat.js';
import leaveGroup from '../../broker/handlers/leave-group.js';
import offsetCommit from '../../broker/handlers/offset-commit.js';
import offsetFetch from '../../broker/handlers/offset-fetch.js';
import describeGroups from '../../broker/handlers/describe-groups.js';
import listGroups from '../../broker/handlers/list-groups.js';
import deleteGroups from '../../broker/handlers/delete-groups.js';
import offsetDelete from '../../broker/handlers/offset-delete.js';
import { defaultFindCoordinatorRequest, readFindCoordinatorResponse } from '../../broker/protocol/generated/find-coordinator.js';
import { defaultJoinGroupRequest, readJoinGroupResponse, type JoinGroupResponse } from '../../broker/protocol/generated/join-group.js';
import { defaultSyncGroupRequest, readSyncGroupResponse } from '../../broker/protocol/generated/sync-group.js';
import { defaultHeartbeatRequest, readHeartbeatResponse } from '../../broker/protocol/generated/heartbeat.js';
import { defaultLeaveGroupRequest, readLeaveGroupResponse } from '../../broker/protocol/generated/leave-group.js';
import { defaultOffsetCommitRequest, readOffsetCommitResponse } from '../../broker/protocol/generated/offset-commit.js';
import { defaultOffsetFetchRequest, readOffsetFetchResponse } from '../../broker/protocol/generated/offset-fetch.js';
import { defaultDescribeGroupsRequest, readDescribeGroupsResponse } from '../../broker/protocol/generated/describe-groups.js';
import { defaultListGroupsRequest, readListGroupsResponse } from '../../broker/protocol/generated/list-groups.js';
import { defaultDeleteGroupsRequest, readDeleteGroupsResponse } from '../../broker/protocol/generated/delete-groups.js';
import { defaultOffsetDeleteRequest, readOffsetDeleteResponse } from '../../broker/protocol/generated/offset-delete.js';
import { E, meta, setup } from './fixture.js';

const log = pino({ level: 'silent' });

function ctx(c: GroupCoordinator, apiKey: number, apiVersion: number): RequestContext {
  const broker = { groups: c, nodeId: 1 } as unknown as Broker;
  return { apiKey, apiVersion, correlationId: 7, clientId: 'cli', conn: { id: 1, remoteAddress: '127.0.0.1', remotePort: 40000, localPort: 9092 }, broker, log };
}

async function call<Req, Res>(h: ApiHandler<Req, Res>, read: (r: Reader, v: number) => Res, c: GroupCoordinator, v: number, req: Req): Promise<Res> {
  const res = await h.handle(req, ctx(c, h.apiKey, v));
  const w = new Writer(64);
  h.write(w, v, res!);
  const r = new Reader(w.toBuffer());
  const out = read(r, v);
  return out;
}

function versions(h: ApiHandler<unknown, unknown> | ApiHandler<any, any>): number[] {
  return Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i);
}

/** Joins 'g' as one member at JoinGroup version v (following MEMBER_ID_REQUIRED) and syncs. */
async function joinAndSync(c: GroupCoordinator, v: number, groupId = 'g'): Promise<JoinGroupResponse> {
  const req = { ...defaultJoinGroupRequest(), groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: meta('sub') }] };
  let j = await call(joinGroup, readJoinGroupResponse, c, v, req);
  if (v >= 4) {
    expect(j.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    j = await call(joinGroup, readJoinGroupResponse, c, v, { ...req, memberId: j.memberId });
  }
  const sv = Math.min(v, syncGroup.maxVersion);
  const s = await call(syncGroup, readSyncGroupResponse, c, sv, {
    ...defaultSyncGroupRequest(),
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    protocolType: sv >= 5 ? 'consumer' : null,
    protocolName: sv >= 5 ? 'range' : null,
    assignments: [{ memberId: j.memberId, assignment: meta('asg') }],
  });
  expect(s.errorCode).toBe(E.NONE);
  expect(s.assignment).toEqual(meta('asg'));
  if (sv >= 5) expect(s).toMatchObject({ protocolType: 'consumer', protocolName: 'range' });
  return j;
}

describe('group API handlers at every advertised version', () => {
  it('FindCoordinator v0-5 names this node for groups and refuses transaction keys', async () => {
    const { c } = await setup();
    for (const v of versions(findCoordinator)) {
      if (v >= 4) {
        const r = await call(findCoordinator, readFindCoordinatorResponse, c, v, { ...defaultFindCoordinatorRequest(), coordinatorKeys: ['a', 'b'] });
        expect(r.coordinators.map((x) => [x.key, x.nodeId, x.host, x.port, x.errorCode])).toEqual([
          ['a', 1, '127.0.0.1', 9092, E.NONE],
          ['b', 1, '127.0.0.1', 9092, E.NONE],
        ]);
        const t = await call(findCoordinator, readFindCoordinatorResponse, c, v, { ...defaultFindCoordinatorRequest(), keyType: 1, coordinatorKeys: ['tx'] });
        expect(t.coordinators[0]!.errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
      } else {
        const r = await call(findCoordinator, readFindCoordinatorResponse, c, v, { ...defaultFindCoordinatorRequest(), key: 'a' });
        expect([r.errorCode, r.nodeId, r.host, r.port]).toEqual([E.NONE, 1, '127.0.0.1', 9092]);
        if (v >= 1) {
          const t = await call(findCoordinator, readFindCoordinatorResponse, c, v, { ...defaultFindCoordinatorRequest(), key: 'tx', keyType: 1 });
          expect(t.errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
          expect(t.errorMessage).toMatch(/not supported/);
        }
      }
    }
  });

  it('JoinGroup v0-9 and SyncGroup v0-5 form a generation; errors encode at every version', async () => {
    for (const v of versions(joinGroup)) {
      const { c } = await setup();
      const j = await joinAndSync(c, v);
      expect(j).toMatchObject({ errorCode: E.NONE, generationId: 1, protocolName: 'range', leader: j.memberId });
      if (v >= 7) expect(j.protocolType).toBe('consumer');
      expect(j.members.map((m) => [m.memberId, m.metadata.toString()])).toEqual([[j.memberId, 'sub']]);
      const bad = await call(joinGroup, readJoinGroupResponse, c, v, { ...defaultJoinGroupRequest(), groupId: 'g', sessionTimeoutMs: 1, protocolType: 'consumer', protocols: [{ name: 'range', metadata: meta('') }] });
      expect(bad.errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    }
    for (const v of versions(syncGroup)) {
      const { c } = await setup();
      const s = await call(syncGroup, readSyncGroupResponse, c, v, { ...defaultSyncGroupRequest(), groupId: 'g', memberId: 'x' });
      expect(s.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    }
  });

  it('JoinGroup v9 tells a replaced static leader to skip assignment', async () => {
    const { c } = await setup();
    const req = { ...defaultJoinGroupRequest(), groupId: 'g', groupInstanceId: 'i', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: meta('s') }] };
    const j = await call(joinGroup, readJoinGroupResponse, c, 9, req);
    await call(syncGroup, readSyncGroupResponse, c, 5, { ...defaultSyncGroupRequest(), groupId: 'g', generationId: 1, memberId: j.memberId, groupInstanceId: 'i', assignments: [] });
    const again = await call(joinGroup, readJoinGroupResponse, c, 9, req);
    expect(again).toMatchObject({ errorCode: E.NONE, generationId: 1, skipAssignment: true });
    expect(again.memberId).not.toBe(j.memberId);
  });

  it('Heartbeat v0-4 and LeaveGroup v0-5 (single member before v3, batched after)', async () => {
    for (const v of versions(leaveGroup)) {
      const { c } = await setup();
      const j = await joinAndSync(c, 5);
      const hb = await call(heartbeat, readHeartbeatResponse, c, Math.min(v, heartbeat.maxVersion), { ...defaultHeartbeatRequest(), groupId: 'g', generationId: 1, memberId: j.memberId });
      expect(hb.errorCode).toBe(E.NONE);
      if (v < 3) {
        const miss = await call(leaveGroup, readLeaveGroupResponse, c, v, { ...defaultLeaveGroupRequest(), groupId: 'g', memberId: 'nobody' });
        expect(miss.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
        const ok = await call(leaveGroup, readLeaveGroupResponse, c, v, { ...defaultLeaveGroupRequest(), groupId: 'g', memberId: j.memberId });
        expect(ok.errorCode).toBe(E.NONE);
      } else {
        const r = await call(leaveGroup, readLeaveGroupResponse, c, v, {
          ...defaultLeaveGroupRequest(),
          groupId: 'g',
          members: [
            { memberId: j.memberId, groupInstanceId: null, reason: 'bye' },
            { memberId: 'nobody', groupInstanceId: null, reason: null },
          ],
        });
        expect(r.errorCode).toBe(E.NONE);
        expect(r.members.map((m) => [m.memberId, m.errorCode])).toEqual([
          [j.memberId, E.NONE],
          ['nobody', E.UNKNOWN_MEMBER_ID],
        ]);
      }
      expect(c.groupState('g')).toBe('Empty');
    }
  });

  it('OffsetCommit v2-9 and OffsetFetch v1-9 round-trip, several groups per fetch from v8', async () => {
    for (const cv of versions(offsetCommit)) {
      const { c } = await setup();
      const commit = (groupId: string, offset: number) =>
        call(offsetCommit, readOffsetCommitResponse, c, cv, {
          ...defaultOffsetCommitRequest(),
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: offset, committedLeaderEpoch: 4, commitTimestamp: -1, committedMetadata: 'md' }] }],
        });
      const r = await commit('g1', 42);
      expect(r.topics[0]!.partitions[0]!.errorCode).toBe(E.NONE);
      await commit('g2', 43);
      for (const fv of versions(offsetFetch)) {
        const f = await call(offsetFetch, readOffsetFetchResponse, c, fv, {
          ...defaultOffsetFetchRequest(),
          groupId: 'g1',
          topics: [{ name: 't', partitionIndexes: [2, 3] }],
          groups: [
            { groupId: 'g1', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [2, 3] }] },
            { groupId: 'g2', memberId: null, memberEpoch: -1, topics: null },
          ],
        });
        const epoch = cv >= 6 && fv >= 5 ? 4 : -1;
        if (fv >= 8) {
          expect(f.groups.map((g) => [g.groupId, g.errorCode, g.topics[0]!.partitions.map((p) => p.committedOffset)])).toEqual([
            ['g1', E.NONE, [42, -1]],
            ['g2', E.NONE, [43]],
          ]);
          expect(f.groups[0]!.topics[0]!.partitions[0]).toMatchObject({ metadata: 'md', committedLeaderEpoch: epoch });
        } else {
          expect(f.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata])).toEqual([
            [2, 42, 'md'],
            [3, -1, ''],
          ]);
          if (fv >= 5) expect(f.topics[0]!.partitions[0]!.committedLeaderEpoch).toBe(epoch);
        }
      }
    }
  });

  it('DescribeGroups v0-5, ListGroups v0-5, OffsetDelete v0 and DeleteGroups v0-2', async () => {
    const { c } = await setup();
    const j = await joinAndSync(c, 5);
    for (const v of versions(describeGroups)) {
      const d = await call(describeGroups, readDescribeGroupsResponse, c, v, { ...defaultDescribeGroupsRequest(), groups: ['g', 'none'], includeAuthorizedOperations: true });
      expect(d.groups[0]).toMatchObject({ errorCode: E.NONE, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
      expect(d.groups[0]!.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.memberMetadata.toString(), m.memberAssignment.toString()])).toEqual([[j.memberId, 'cli', '/127.0.0.1', 'sub', 'asg']]);
      expect(d.groups[1]).toMatchObject({ groupId: 'none', groupState: 'Dead', members: [] });
    }
    await call(offsetCommit, readOffsetCommitResponse, c, 8, {
      ...defaultOffsetCommitRequest(),
      groupId: 'idle',
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    });
    for (const v of versions(listGroups)) {
      const l = await call(listGroups, readListGroupsResponse, c, v, { ...defaultListGroupsRequest(), statesFilter: v >= 4 ? ['Stable'] : [], typesFilter: v >= 5 ? ['classic'] : [] });
      const ids = l.groups.map((g) => g.groupId).sort();
      expect(ids).toEqual(v >= 4 ? ['g'] : ['g', 'idle']);
      if (v >= 4) expect(l.groups[0]!.groupState).toBe('Stable');
      if (v >= 5) expect(l.groups[0]!.groupType).toBe('classic');
    }
    const od = await call(offsetDelete, readOffsetDeleteResponse, c, 0, { ...defaultOffsetDeleteRequest(), groupId: 'idle', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] });
    expect(od).toMatchObject({ errorCode: E.NONE, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: E.NONE }] }] });
    for (const v of versions(deleteGroups)) {
      const r = await call(deleteGroups, readDeleteGroupsResponse, c, v, { ...defaultDeleteGroupsRequest(), groupsNames: ['g', `gone${v}`] });
      expect(r.results.map((x) => [x.groupId, x.errorCode])).toEqual([
        ['g', E.NON_EMPTY_GROUP],
        [`gone${v}`, E.GROUP_ID_NOT_FOUND],
      ]);
    }
  });
});
