// Shared setup for coordinator unit tests: a coordinator on a manual clock and memory store.
import { GroupCoordinator, type GroupCoordinatorOptions } from '../../broker/groups/group-coordinator.js';
import { LocalOwnership, type CoordinatorOwnership } from '../../broker/groups/coordinator-ownership.js';
import { MemoryOffsetStore } from '../../broker/groups/memory-offset-store.js';
import type { OffsetStore } from '../../broker/groups/offset-store.js';
import type { JoinRequest, JoinResult, SyncResult } from '../../broker/groups/group-types.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import { writeConsumerProtocolSubscription } from '../../broker/protocol/generated/consumer-protocol-subscription.js';
import { ManualClock } from './manual-clock.js';

export const E = ErrorCode;
export const SESSION = 10_000;
export const REBALANCE = 30_000;

export interface Fixture {
  c: GroupCoordinator;
  clock: ManualClock;
  store: OffsetStore;
  topics: Map<string, number>;
}

export async function setup(
  opts: Partial<GroupCoordinatorOptions> = {},
  extra: { store?: OffsetStore; ownership?: CoordinatorOwnership; open?: boolean } = {},
): Promise<Fixture> {
  const clock = new ManualClock();
  const store = extra.store ?? new MemoryOffsetStore();
  const topics = new Map<string, number>([
    ['t', 6],
    ['u', 2],
  ]);
  const c = new GroupCoordinator(
    { groupInitialRebalanceDelayMs: 0, offsetsRetentionMs: 7 * 24 * 3600_000, ...opts },
    store,
    { partitionCount: (t) => topics.get(t) },
    extra.ownership ?? new LocalOwnership(() => ({ nodeId: 1, host: '127.0.0.1', port: 9092 })),
    clock,
  );
  if (extra.open !== false) await c.open();
  return { c, clock, store, topics };
}

export function meta(s: string): Buffer {
  return Buffer.from(s);
}

export function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: meta('m') }],
    requireKnownMemberId: false,
    ...over,
  };
}

/** Lets pending promise callbacks run. */
export function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Whether `p` has resolved yet, without waiting for it. */
export async function peek<T>(p: Promise<T>): Promise<T | undefined> {
  let value: T | undefined;
  void p.then((v) => {
    value = v;
  });
  await flush();
  return value;
}

export function syncReq(groupId: string, j: JoinResult, assignments: Array<{ memberId: string; assignment: Buffer }> = []) {
  return { groupId, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments };
}

/** One member joins and syncs an empty group; returns its join and sync results. */
export async function soloStable(c: GroupCoordinator, over: Partial<JoinRequest> = {}): Promise<{ join: JoinResult; sync: SyncResult }> {
  const join = await c.join(joinReq(over));
  const sync = await c.sync({ ...syncReq(over.groupId ?? 'g', join, [{ memberId: join.memberId, assignment: meta('A') }]), groupInstanceId: over.groupInstanceId ?? null });
  return { join, sync };
}

/** ConsumerProtocolSubscription v1 bytes, as Java consumers send in JoinGroup. */
export function subscription(topics: string[], owned: Array<{ topic: string; partitions: number[] }> = [], userData: Buffer | null = null): Buffer {
  const w = new Writer(64);
  w.int16(1);
  writeConsumerProtocolSubscription(w, 1, { topics, userData, ownedPartitions: owned });
  return Buffer.concat(w.finish());
}
