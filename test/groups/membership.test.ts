import { describe, expect, it } from 'vitest';
import { E, REBALANCE, SESSION, flush, joinReq, meta, peek, setup, soloStable, subscription, syncReq } from './fixture.js';

describe('group membership: join and sync', () => {
  it('hands a new v4+ member an id with MEMBER_ID_REQUIRED, then forms generation 1', async () => {
    const { c } = await setup();
    const first = await c.join(joinReq({ requireKnownMemberId: true, clientId: 'app' }));
    expect(first.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^app-[0-9a-f-]{36}$/);
    expect(c.groupState('g')).toBe('Empty');

    const j = await c.join(joinReq({ requireKnownMemberId: true, memberId: first.memberId }));
    expect(j).toMatchObject({ errorCode: E.NONE, generationId: 1, leader: first.memberId, memberId: first.memberId, protocolType: 'consumer', protocolName: 'range' });
    expect(j.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: meta('m') }]);
    expect(c.groupState('g')).toBe('CompletingRebalance');

    const s = await c.sync(syncReq('g', j, [{ memberId: j.memberId, assignment: meta('A1') }]));
    expect(s).toMatchObject({ errorCode: E.NONE, protocolName: 'range', assignment: meta('A1') });
    expect(c.groupState('g')).toBe('Stable');
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId, groupInstanceId: null })).toBe(E.NONE);
  });

  it('rebalances when a second member joins: held join, REBALANCE_IN_PROGRESS heartbeat, follower sync waits for the leader', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    expect(await peek(bJoin)).toBeUndefined();
    expect(c.groupState('g')).toBe('PreparingRebalance');
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null })).toBe(E.REBALANCE_IN_PROGRESS);

    const aJoin = await c.join(joinReq({ memberId: a.memberId }));
    const b = await bJoin;
    expect(aJoin.generationId).toBe(2);
    expect(b.generationId).toBe(2);
    expect(aJoin.leader).toBe(a.memberId);
    expect(b.leader).toBe(a.memberId);
    expect(aJoin.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    expect(b.members).toEqual([]);

    const bSync = c.sync(syncReq('g', b));
    expect(await peek(bSync)).toBeUndefined();
    const aSync = await c.sync(
      syncReq('g', aJoin, [
        { memberId: a.memberId, assignment: meta('for-a') },
        { memberId: b.memberId, assignment: meta('for-b') },
      ]),
    );
    expect(aSync.assignment).toEqual(meta('for-a'));
    expect((await bSync).assignment).toEqual(meta('for-b'));
    expect(c.groupState('g')).toBe('Stable');
  });

  it('removes a member that does not rejoin within the rebalance timeout', async () => {
    const { c, clock } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    const aRejoin = c.join(joinReq({ memberId: a.memberId }));
    const [aj, bj] = await Promise.all([aRejoin, bJoin]);
    await c.sync(syncReq('g', aj, [{ memberId: bj.memberId, assignment: meta('B') }]));
    await c.sync(syncReq('g', bj));
    expect(c.groupState('g')).toBe('Stable');

    // c joins; a rejoins, b (a late member) never does.
    const cJoin = c.join(joinReq({ clientId: 'c' }));
    const aAgain = c.join(joinReq({ memberId: a.memberId }));
    expect(await peek(cJoin)).toBeUndefined();
    clock.advance(SESSION - 1); // b's session would still be fine; the rebalance is what waits
    expect(await peek(cJoin)).toBeUndefined();
    clock.advance(REBALANCE);
    const [cj, aj2] = await Promise.all([cJoin, aAgain]);
    expect(cj.generationId).toBe(3);
    expect(aj2.members.map((m) => m.memberId).sort()).toEqual([a.memberId, cj.memberId].sort());
    expect(c.heartbeat({ groupId: 'g', generationId: 3, memberId: bj.memberId, groupInstanceId: null })).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('expires a member whose session times out and rebalances the rest', async () => {
    const { c, clock } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    const [aj, bj] = await Promise.all([c.join(joinReq({ memberId: a.memberId })), bJoin]);
    await Promise.all([c.sync(syncReq('g', aj)), c.sync(syncReq('g', bj))]);

    // Only a heartbeats.
    for (let i = 0; i < 4; i++) {
      clock.advance(SESSION / 2);
      const hb = c.heartbeat({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: null });
      if (i === 0) expect(hb).toBe(E.NONE);
    }
    expect(c.groupState('g')).toBe('PreparingRebalance');
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: null })).toBe(E.REBALANCE_IN_PROGRESS);
    const again = await c.join(joinReq({ memberId: a.memberId }));
    expect(again.generationId).toBe(3);
    expect(again.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: bj.memberId, groupInstanceId: null })).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('does not expire members held in a join phase', async () => {
    const { c, clock } = await setup();
    const rt = { rebalanceTimeoutMs: 5 * SESSION };
    const { join: a } = await soloStable(c, rt);
    const bJoin = c.join(joinReq({ clientId: 'b', ...rt }));
    const [aj, bj] = await Promise.all([c.join(joinReq({ memberId: a.memberId, ...rt })), bJoin]);
    await Promise.all([c.sync(syncReq('g', aj)), c.sync(syncReq('g', bj))]);
    // c joins; a rejoins and is held while b keeps heartbeating but never rejoins.
    const cJoin = c.join(joinReq({ clientId: 'c', ...rt }));
    const aHeld = c.join(joinReq({ memberId: a.memberId, ...rt }));
    for (let t = 0; t < 3 * SESSION; t += SESSION / 2) {
      clock.advance(SESSION / 2);
      expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: bj.memberId, groupInstanceId: null })).toBe(E.REBALANCE_IN_PROGRESS);
    }
    expect(await peek(aHeld)).toBeUndefined();
    clock.advance(2 * SESSION);
    const held = await aHeld;
    expect(held.errorCode).toBe(E.NONE);
    expect(held.generationId).toBe(3);
    expect(held.members.map((m) => m.memberId).sort()).toEqual([a.memberId, (await cJoin).memberId].sort());
  });

  it('drops members that never send SyncGroup and rebalances', async () => {
    const { c, clock } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    const [aj, bj] = await Promise.all([c.join(joinReq({ memberId: a.memberId })), bJoin]);
    const aSync = await c.sync(syncReq('g', aj, [{ memberId: a.memberId, assignment: meta('A') }]));
    expect(aSync.errorCode).toBe(E.NONE);
    // b never syncs; a heartbeats.
    for (let t = 0; t < REBALANCE; t += SESSION / 2) {
      clock.advance(SESSION / 2);
      c.heartbeat({ groupId: 'g', generationId: 2, memberId: a.memberId, groupInstanceId: null });
    }
    expect(c.groupState('g')).not.toBe('Stable');
    const next = await c.join(joinReq({ memberId: a.memberId }));
    expect(next.generationId).toBe(3);
    expect(next.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect((await c.sync(syncReq('g', bj))).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('answers held syncs with REBALANCE_IN_PROGRESS when a rebalance starts before the leader syncs', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    const [, bj] = await Promise.all([c.join(joinReq({ memberId: a.memberId })), bJoin]);
    const bSync = c.sync(syncReq('g', bj));
    void c.join(joinReq({ clientId: 'c' }));
    expect((await bSync).errorCode).toBe(E.REBALANCE_IN_PROGRESS);
  });

  it('waits out group.initial.rebalance.delay.ms so early members share the first generation', async () => {
    const { c, clock } = await setup({ groupInitialRebalanceDelayMs: 3000 });
    const a = c.join(joinReq({ clientId: 'a' }));
    clock.advance(2000);
    const b = c.join(joinReq({ clientId: 'b' }));
    clock.advance(1000); // first delay ends; b arrived during it, so it is extended once
    expect(await peek(a)).toBeUndefined();
    clock.advance(3000);
    const [aj, bj] = await Promise.all([a, b]);
    expect(aj.generationId).toBe(1);
    expect(bj.generationId).toBe(1);
    expect(aj.members.length + bj.members.length).toBe(2);
  });

  it('picks the protocol every member supports that most prefer', async () => {
    const { c } = await setup();
    const rr = { name: 'roundrobin', metadata: meta('r') };
    const range = { name: 'range', metadata: meta('g') };
    const sticky = { name: 'sticky', metadata: meta('s') };
    const { join: a } = await soloStable(c, { protocols: [rr, range, sticky] });
    const bJoin = c.join(joinReq({ protocols: [range, sticky] }));
    const cJoin = c.join(joinReq({ protocols: [sticky, range] }));
    const aj = await c.join(joinReq({ memberId: a.memberId, protocols: [rr, range, sticky] }));
    await Promise.all([bJoin, cJoin]);
    // candidates: range, sticky. votes: a→range, b→range, c→sticky.
    expect(aj.protocolName).toBe('range');
    expect(aj.members.find((m) => m.memberId === a.memberId)?.metadata).toEqual(meta('g'));
  });

  it('a follower rejoining a stable group unchanged gets the current generation without a rebalance', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    const [aj, bj] = await Promise.all([c.join(joinReq({ memberId: a.memberId })), bJoin]);
    await Promise.all([c.sync(syncReq('g', aj)), c.sync(syncReq('g', bj))]);
    const follower = aj.leader === a.memberId ? bj : aj;
    const again = await c.join(joinReq({ memberId: follower.memberId }));
    expect(again).toMatchObject({ errorCode: E.NONE, generationId: 2, members: [] });
    expect(c.groupState('g')).toBe('Stable');
  });

  it('the last member leaving empties the group and bumps the generation', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const r = c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(r).toEqual({ errorCode: E.NONE, members: [{ memberId: a.memberId, groupInstanceId: null, errorCode: E.NONE }] });
    expect(c.groupState('g')).toBe('Empty');
    expect(c.describe(['g'])[0]).toMatchObject({ state: 'Empty', protocolType: 'consumer', members: [] });
    expect(c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]).members[0]!.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.leave('nope', [{ memberId: 'x', groupInstanceId: null }])).toEqual({ errorCode: E.NONE, members: [{ memberId: 'x', groupInstanceId: null, errorCode: E.UNKNOWN_MEMBER_ID }] });
  });

  it('a member leaving mid-rebalance lets the join phase complete without it', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    expect(await peek(bJoin)).toBeUndefined();
    c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    const b = await bJoin;
    expect(b).toMatchObject({ errorCode: E.NONE, generationId: 2, leader: b.memberId });
  });

  it('a pending member id that is never used stops holding the join after its session timeout', async () => {
    const { c, clock } = await setup();
    const { join: a } = await soloStable(c);
    const r = await c.join(joinReq({ requireKnownMemberId: true, clientId: 'ghost' }));
    expect(r.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    const aj = c.join(joinReq({ memberId: a.memberId }));
    // a alone rejoined, but a pending member is still expected.
    await flush();
    expect(c.groupState('g')).toBe('PreparingRebalance');
    expect(await peek(aj)).toBeUndefined();
    clock.advance(SESSION);
    expect((await aj).generationId).toBe(2);
  });
});

describe('group membership: error codes', () => {
  it('validates session timeout, group id, protocols and member ids', async () => {
    const { c } = await setup();
    expect((await c.join(joinReq({ sessionTimeoutMs: 5999 }))).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await c.join(joinReq({ sessionTimeoutMs: 1_800_001 }))).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((await c.join(joinReq({ groupId: '' }))).errorCode).toBe(E.INVALID_GROUP_ID);
    expect((await c.join(joinReq({ protocolType: '' }))).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.join(joinReq({ protocols: [] }))).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.join(joinReq({ memberId: 'who' }))).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.groupState('g')).toBeUndefined();

    const { join: a } = await soloStable(c);
    expect((await c.join(joinReq({ protocolType: 'connect' }))).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.join(joinReq({ protocols: [{ name: 'other', metadata: meta('') }] }))).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.join(joinReq({ memberId: 'who' }))).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.groupState('g')).toBe('Stable');

    expect(c.heartbeat({ groupId: 'g', generationId: 7, memberId: a.memberId, groupInstanceId: null })).toBe(E.ILLEGAL_GENERATION);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'who', groupInstanceId: null })).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat({ groupId: 'none', generationId: 1, memberId: 'who', groupInstanceId: null })).toBe(E.UNKNOWN_MEMBER_ID);
    expect((await c.sync({ ...syncReq('g', a), generationId: 9 })).errorCode).toBe(E.ILLEGAL_GENERATION);
    expect((await c.sync({ ...syncReq('g', a), protocolName: 'roundrobin' })).errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.sync({ ...syncReq('g', a), memberId: 'who' })).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('refuses members past group.max.size and oversized metadata without disturbing the group', async () => {
    const { c } = await setup({ maxGroupSize: 1, maxMemberMetadataBytes: 100 });
    const { join: a } = await soloStable(c);
    expect((await c.join(joinReq({ clientId: 'b' }))).errorCode).toBe(E.GROUP_MAX_SIZE_REACHED);
    expect((await c.join(joinReq({ memberId: a.memberId, protocols: [{ name: 'range', metadata: Buffer.alloc(200) }] }))).errorCode).toBe(E.INVALID_REQUEST);
    expect(c.groupState('g')).toBe('Stable');
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null })).toBe(E.NONE);
    // An existing member may still rejoin when the group is full.
    expect((await c.join(joinReq({ memberId: a.memberId, protocols: [{ name: 'range', metadata: meta('new') }] }))).generationId).toBe(2);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS before open and NOT_COORDINATOR for groups it does not own', async () => {
    const loading = await setup({}, { open: false });
    expect((await loading.c.join(joinReq())).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    expect(loading.c.fetchOffsets('g', null).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);

    const foreign = await setup({}, { ownership: { owns: (g) => g !== 'elsewhere', coordinatorOf: () => null } });
    expect((await foreign.c.join(joinReq({ groupId: 'elsewhere' }))).errorCode).toBe(E.NOT_COORDINATOR);
    expect(foreign.c.heartbeat({ groupId: 'elsewhere', generationId: 1, memberId: 'x', groupInstanceId: null })).toBe(E.NOT_COORDINATOR);
    expect((await foreign.c.join(joinReq())).errorCode).toBe(E.NONE);
  });

  it('answers held requests with NOT_COORDINATOR on close', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c);
    const b = c.join(joinReq({ clientId: 'b' }));
    await c.close();
    expect((await b).errorCode).toBe(E.NOT_COORDINATOR);
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null })).toBe(E.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('static membership', () => {
  const inst = { groupInstanceId: 'pod-1' };

  it('a known instance rejoining with unchanged metadata replaces the old member without a rebalance', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c, { ...inst, requireKnownMemberId: true });
    expect(a.errorCode).toBe(E.NONE); // static members skip MEMBER_ID_REQUIRED
    expect(a.memberId.startsWith('pod-1-')).toBe(true);

    const again = await c.join(joinReq({ ...inst }));
    expect(again.errorCode).toBe(E.NONE);
    expect(again.memberId).not.toBe(a.memberId);
    expect(again.generationId).toBe(1);
    expect(again.leader).toBe(again.memberId);
    expect(again.skipAssignment).toBe(true);
    expect(c.groupState('g')).toBe('Stable');

    // The old incarnation is fenced everywhere.
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: 'pod-1' })).toBe(E.FENCED_INSTANCE_ID);
    expect((await c.sync({ ...syncReq('g', a), groupInstanceId: 'pod-1' })).errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect((await c.join(joinReq({ ...inst, memberId: a.memberId }))).errorCode).toBe(E.FENCED_INSTANCE_ID);
    const commit = await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: 'pod-1', retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    expect(commit[0]!.partitions[0]!.errorCode).toBe(E.FENCED_INSTANCE_ID);

    // The new one keeps the assignment.
    const s = await c.sync({ ...syncReq('g', again), groupInstanceId: 'pod-1' });
    expect(s).toMatchObject({ errorCode: E.NONE, assignment: meta('A') });
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: again.memberId, groupInstanceId: 'pod-1' })).toBe(E.NONE);
  });

  it('a known instance rejoining with changed metadata triggers a rebalance', async () => {
    const { c } = await setup();
    await soloStable(c, inst);
    const again = await c.join(joinReq({ ...inst, protocols: [{ name: 'range', metadata: meta('changed') }] }));
    expect(again.generationId).toBe(2);
    expect(again.members[0]!.metadata).toEqual(meta('changed'));
  });

  it('a restarted consumer whose owned partitions differ is still replaced without a rebalance; a new subscription rebalances', async () => {
    const { c } = await setup();
    const before = [{ name: 'range', metadata: subscription(['t'], [{ topic: 't', partitions: [0, 1] }], meta('ud')) }];
    await soloStable(c, { ...inst, protocols: before });
    const restarted = await c.join(joinReq({ ...inst, protocols: [{ name: 'range', metadata: subscription(['t']) }] }));
    expect(restarted).toMatchObject({ errorCode: E.NONE, generationId: 1 });
    expect(c.groupState('g')).toBe('Stable');
    const resubscribed = await c.join(joinReq({ ...inst, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] }));
    expect(resubscribed.generationId).toBe(2);
    await c.sync({ ...syncReq('g', resubscribed), groupInstanceId: 'pod-1' });
    expect(c.groupState('g')).toBe('Stable');
    const reordered = await c.join(joinReq({ ...inst, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }, { name: 'rr', metadata: meta('') }] }));
    expect(reordered.generationId).toBe(3);
  });

  it('a static member that misses a rebalance keeps its place until its session expires', async () => {
    const { c, clock } = await setup();
    const { join: s } = await soloStable(c, { ...inst, sessionTimeoutMs: 4 * REBALANCE });
    const dJoin = c.join(joinReq({ clientId: 'dyn' }));
    clock.advance(REBALANCE);
    const d = await dJoin;
    expect(d.errorCode).toBe(E.NONE);
    expect(d.generationId).toBe(2);
    // The static member did not rejoin but is still in the generation.
    const members = (d.leader === d.memberId ? d.members : []).map((m) => m.groupInstanceId);
    expect(members).toContain('pod-1');
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: s.memberId, groupInstanceId: 'pod-1' })).toBe(E.NONE);
  });

  it('LeaveGroup by instance id removes the member; a wrong member id for the instance is fenced', async () => {
    const { c } = await setup();
    const { join: a } = await soloStable(c, inst);
    const wrong = c.leave('g', [{ memberId: 'someone-else', groupInstanceId: 'pod-1' }]);
    expect(wrong.members[0]!.errorCode).toBe(E.FENCED_INSTANCE_ID);
    expect(c.leave('g', [{ memberId: '', groupInstanceId: 'pod-9' }]).members[0]!.errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    const ok = c.leave('g', [{ memberId: '', groupInstanceId: 'pod-1' }]);
    expect(ok.members[0]).toEqual({ memberId: '', groupInstanceId: 'pod-1', errorCode: E.NONE });
    expect(c.groupState('g')).toBe('Empty');
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: 'pod-1' })).toBe(E.UNKNOWN_MEMBER_ID);
  });
});
