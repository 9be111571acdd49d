import { describe, expect, it } from 'vitest';
import type { CommitRequest } from '../../broker/groups/group-types.js';
import { E, joinReq, meta, setup, soloStable, subscription, syncReq } from './fixture.js';

function commit(over: Partial<CommitRequest> & { offsets?: Array<[string, number, number]>; metadata?: string | null }): CommitRequest {
  const offsets = over.offsets ?? [['t', 0, 10]];
  const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>>();
  for (const [t, p, o] of offsets) {
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push({ partitionIndex: p, committedOffset: o, committedLeaderEpoch: 3, committedMetadata: over.metadata === undefined ? 'meta' : over.metadata });
  }
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    ...over,
  };
}

function codes(r: Awaited<ReturnType<import('../../broker/groups/group-coordinator.js').GroupCoordinator['commitOffsets']>>): number[] {
  return r.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

describe('offset commit and fetch', () => {
  it('a standalone consumer commits to a group that does not exist and reads it back', async () => {
    const { c } = await setup();
    expect(codes(await c.commitOffsets(commit({ offsets: [['t', 0, 10], ['t', 5, 99], ['u', 1, 7]] })))).toEqual([E.NONE, E.NONE, E.NONE]);
    expect(c.groupState('g')).toBe('Empty');
    const f = c.fetchOffsets('g', [{ name: 't', partitions: [0, 1, 5] }]);
    expect(f.errorCode).toBe(E.NONE);
    expect(f.topics[0]!.partitions).toEqual([
      { partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 3, metadata: 'meta', errorCode: E.NONE },
      { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: E.NONE },
      { partitionIndex: 5, committedOffset: 99, committedLeaderEpoch: 3, metadata: 'meta', errorCode: E.NONE },
    ]);
    const all = c.fetchOffsets('g', null);
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([
      ['t', [10, 99]],
      ['u', [7]],
    ]);
    // Later commit wins; null metadata is stored as ''.
    await c.commitOffsets(commit({ offsets: [['t', 0, 11]], metadata: null }));
    expect(c.fetchOffsets('g', [{ name: 't', partitions: [0] }]).topics[0]!.partitions[0]).toMatchObject({ committedOffset: 11, metadata: '' });
  });

  it('an unknown group fetches -1 for every partition, and nothing for all-topics', async () => {
    const { c } = await setup();
    expect(c.fetchOffsets('none', [{ name: 't', partitions: [2] }]).topics[0]!.partitions[0]!.committedOffset).toBe(-1);
    expect(c.fetchOffsets('none', null)).toEqual({ errorCode: E.NONE, topics: [] });
  });

  it('rejects unknown topics/partitions and oversized metadata per partition', async () => {
    const { c } = await setup();
    const r = await c.commitOffsets(commit({ offsets: [['t', 0, 1], ['t', 6, 1], ['nope', 0, 1]] }));
    expect(codes(r)).toEqual([E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION, E.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(codes(await c.commitOffsets(commit({ metadata: 'x'.repeat(4097) })))).toEqual([E.OFFSET_METADATA_TOO_LARGE]);
    expect(codes(await c.commitOffsets(commit({ metadata: 'x'.repeat(4096) })))).toEqual([E.NONE]);
  });

  it('validates generation and member of group members', async () => {
    const { c } = await setup();
    expect(codes(await c.commitOffsets(commit({ groupId: 'fresh', generationId: 3, memberId: 'm' })))).toEqual([E.ILLEGAL_GENERATION]);
    const { join: a } = await soloStable(c);
    const good = commit({ generationId: a.generationId, memberId: a.memberId });
    expect(codes(await c.commitOffsets(good))).toEqual([E.NONE]);
    expect(codes(await c.commitOffsets({ ...good, generationId: a.generationId + 1 }))).toEqual([E.ILLEGAL_GENERATION]);
    expect(codes(await c.commitOffsets({ ...good, memberId: 'stranger' }))).toEqual([E.UNKNOWN_MEMBER_ID]);
    // A standalone commit into a group with members is not allowed.
    expect(codes(await c.commitOffsets(commit({})))).toEqual([E.UNKNOWN_MEMBER_ID]);

    // During the join phase the current generation may still commit (revocation commits).
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    expect(c.groupState('g')).toBe('PreparingRebalance');
    expect(codes(await c.commitOffsets(good))).toEqual([E.NONE]);
    const aj = await c.join(joinReq({ memberId: a.memberId }));
    await bJoin;
    expect(c.groupState('g')).toBe('CompletingRebalance');
    expect(codes(await c.commitOffsets({ ...good, generationId: aj.generationId }))).toEqual([E.REBALANCE_IN_PROGRESS]);
  });

  it('expires offsets of empty groups after the retention time and then forgets the group', async () => {
    const { c, clock } = await setup({ offsetsRetentionMs: 60_000 });
    await c.commitOffsets(commit({ groupId: 'old' }));
    clock.advance(30_000);
    const { join: a } = await soloStable(c, { groupId: 'live', sessionTimeoutMs: 1_800_000 });
    await c.commitOffsets(commit({ groupId: 'live', generationId: a.generationId, memberId: a.memberId }));
    await c.commitOffsets(commit({ groupId: 'short', retentionTimeMs: 1000 }));
    expect(await c.expireOffsets(clock.now())).toBe(0);
    clock.advance(1000);
    expect(await c.expireOffsets(clock.now())).toBe(1); // 'short' had an explicit retention
    clock.advance(29_000);
    expect(await c.expireOffsets(clock.now())).toBe(1); // 'old'
    expect(c.groupState('old')).toBeUndefined();
    expect(c.groupState('short')).toBeUndefined();
    expect(c.fetchOffsets('old', [{ name: 't', partitions: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(-1);
    clock.advance(10 * 60_000);
    await c.expireOffsets(clock.now());
    // A group with members keeps its offsets however old.
    expect(c.fetchOffsets('live', [{ name: 't', partitions: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(10);

    // Once it empties, retention counts from that moment.
    c.leave('live', [{ memberId: a.memberId, groupInstanceId: null }]);
    clock.advance(59_000);
    expect(await c.expireOffsets(clock.now())).toBe(0);
    clock.advance(1000);
    expect(await c.expireOffsets(clock.now())).toBe(1);
  });
});

describe('group admin', () => {
  it('describes a stable group with member metadata and assignment, and lists with filters', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c, { clientId: 'cli-a' });
    await c.commitOffsets(commit({ groupId: 'standalone' }));
    const [d, missing] = c.describe(['g', 'missing']);
    expect(d).toEqual({
      errorCode: E.NONE,
      groupId: 'g',
      state: 'Stable',
      protocolType: 'consumer',
      protocolName: 'range',
      members: [{ memberId: a.memberId, groupInstanceId: null, clientId: 'cli-a', clientHost: '/127.0.0.1', metadata: meta('m'), assignment: meta('A') }],
    });
    expect(missing).toMatchObject({ errorCode: E.NONE, state: 'Dead', members: [] });

    const all = c.list();
    expect(all.groups.map((g) => [g.groupId, g.state, g.protocolType]).sort()).toEqual([
      ['g', 'Stable', 'consumer'],
      ['standalone', 'Empty', ''],
    ]);
    expect(c.list(['empty']).groups.map((g) => g.groupId)).toEqual(['standalone']);
    expect(c.list([], ['consumer']).groups).toEqual([]);
    expect(c.list([], ['Classic']).groups.length).toBe(2);
  });

  it('deletes only empty groups, and their offsets with them', async () => {
    const { c } = await setup();
    await soloStable(c);
    await c.commitOffsets(commit({ groupId: 'idle' }));
    expect(await c.deleteGroups(['g', 'idle', 'missing'])).toEqual([
      { groupId: 'g', errorCode: E.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: E.NONE },
      { groupId: 'missing', errorCode: E.GROUP_ID_NOT_FOUND },
    ]);
    expect(c.groupState('idle')).toBeUndefined();
    expect(c.fetchOffsets('idle', null).topics).toEqual([]);
    expect(await c.deleteGroups(['idle'])).toEqual([{ groupId: 'idle', errorCode: E.GROUP_ID_NOT_FOUND }]);
  });

  it('OffsetDelete refuses topics a live consumer group subscribes to', async () => {
    const { c } = await setup();
    await c.commitOffsets(commit({ groupId: 'g', offsets: [['t', 0, 1], ['u', 0, 2]] }));
    const { join: a } = await soloStable(c, { protocols: [{ name: 'range', metadata: subscription(['t']) }] });
    expect(a.errorCode).toBe(E.NONE);
    const r = await c.deleteOffsets('g', [
      { name: 't', partitions: [0] },
      { name: 'u', partitions: [0] },
      { name: 'gone', partitions: [0] },
    ]);
    expect(r).toEqual({
      errorCode: E.NONE,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, errorCode: E.GROUP_SUBSCRIBED_TO_TOPIC }] },
        { name: 'u', partitions: [{ partitionIndex: 0, errorCode: E.NONE }] },
        { name: 'gone', partitions: [{ partitionIndex: 0, errorCode: E.UNKNOWN_TOPIC_OR_PARTITION }] },
      ],
    });
    const f = c.fetchOffsets('g', null);
    expect(f.topics.map((t) => t.name)).toEqual(['t']);
    expect((await c.deleteOffsets('missing', [{ name: 't', partitions: [0] }])).errorCode).toBe(E.GROUP_ID_NOT_FOUND);
  });

  it('OffsetDelete on a non-consumer group with members is NON_EMPTY_GROUP; on an empty group it deletes', async () => {
    const { c } = await setup();
    await soloStable(c, { groupId: 'conn', protocolType: 'connect' });
    expect((await c.deleteOffsets('conn', [{ name: 't', partitions: [0] }])).errorCode).toBe(E.NON_EMPTY_GROUP);
    await c.commitOffsets(commit({ groupId: 'idle' }));
    expect((await c.deleteOffsets('idle', [{ name: 't', partitions: [0] }])).topics[0]!.partitions[0]!.errorCode).toBe(E.NONE);
    expect(c.fetchOffsets('idle', [{ name: 't', partitions: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(-1);
  });

  it('removes a deleted topic from every group', async () => {
    const { c } = await setup();
    await c.commitOffsets(commit({ groupId: 'a', offsets: [['t', 0, 1], ['u', 1, 2]] }));
    await c.removeTopicOffsets('t');
    expect(c.fetchOffsets('a', null).topics.map((t) => t.name)).toEqual(['u']);
  });

  it('sync keeps assignments for ids the leader names only', async () => {
    const { c } = await setup();
    const j = await c.join(joinReq());
    const s = await c.sync(syncReq('g', j, [{ memberId: 'ghost', assignment: meta('x') }]));
    expect(s.assignment.length).toBe(0);
  });
});
