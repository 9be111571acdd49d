// State of one classic group. The coordinator drives transitions; this class keeps the
// bookkeeping (members, static instance map, leader, protocol choice) consistent.
import { decodeSubscription } from '../protocol/consumer/consumer-protocol.js';
import type { Timer } from './clock.js';
import type { GroupMember } from './group-member.js';
import type { GroupState, JoinedMember, Protocol } from './group-types.js';

export class Group {
  state: GroupState = 'Empty';
  /** When the group entered its current state (drives offset expiry of Empty groups). */
  stateSince: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, GroupMember>();
  /** group.instance.id -> member id */
  readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED, not yet joined; expire after the session timeout. */
  readonly pendingMembers = new Map<string, Timer>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  joinTimer: Timer | null = null;
  syncTimer: Timer | null = null;
  /** Join phase of a new group: waiting out group.initial.rebalance.delay.ms. */
  initialJoinDelay = false;
  /** A member joined during the initial delay, so it is extended once more. */
  newMemberAdded = false;
  /** False for a group seen only through committed offsets since the last restart. */
  everHadMembers = false;
  /** The coordinator's ownership spell this state belongs to (see CoordinatorOwnership.tenure). */
  tenure: number | undefined = undefined;

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateSince = now;
  }

  transition(to: GroupState, now: number): void {
    this.state = to;
    this.stateSince = now;
  }

  get size(): number {
    return this.members.size;
  }

  add(m: GroupMember): void {
    if (this.members.size === 0) this.protocolType = m.protocolType;
    this.members.set(m.memberId, m);
    if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    this.leaderId ??= m.memberId;
    this.everHadMembers = true;
  }

  remove(memberId: string): void {
    const m = this.members.get(memberId);
    if (!m) return;
    this.members.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) this.staticMembers.delete(m.groupInstanceId);
    this.pendingSync.delete(memberId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /** Puts `next` in the place of `old` (static member rejoining with a new member id). */
  replace(old: GroupMember, next: GroupMember): void {
    this.members.delete(old.memberId);
    this.members.set(next.memberId, next);
    if (next.groupInstanceId !== null) this.staticMembers.set(next.groupInstanceId, next.memberId);
    if (this.leaderId === old.memberId) this.leaderId = next.memberId;
    if (this.pendingSync.delete(old.memberId)) this.pendingSync.add(next.memberId);
  }

  /** True when `groupInstanceId` belongs to a member other than `memberId`. */
  isFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const owner = this.staticMembers.get(groupInstanceId);
    return owner !== undefined && owner !== memberId;
  }

  /** Could a member with these protocols join, next to every member but `except`? */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[], except?: string): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== except);
    if (others.length === 0) return protocolType !== '' && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => others.every((m) => m.supports(p.name)));
  }

  allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  /** Keeps the leader if it rejoined, else picks a member that did. False if none did. */
  electJoinedLeader(): boolean {
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (leader?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    this.leaderId = null;
    return false;
  }

  /** The protocol every member supports that most members prefer. */
  selectProtocol(): string {
    const all = [...this.members.values()];
    const candidates = new Set(all[0]!.protocols.map((p) => p.name).filter((n) => all.every((m) => m.supports(n))));
    const votes = new Map<string, number>();
    for (const m of all) {
      const v = m.vote(candidates);
      if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    let best: string | undefined;
    let bestVotes = -1;
    // Ties go to the first member's order of preference, so the choice is deterministic.
    for (const name of candidates) {
      const n = votes.get(name) ?? 0;
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    if (best === undefined) throw new Error(`group ${this.groupId} has no common protocol`);
    return best;
  }

  memberList(): JoinedMember[] {
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(this.protocolName) }));
  }

  /** Largest rebalance timeout of the members: how long a join phase may wait. */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  /**
   * Topics the consumer-protocol members subscribe to, or null when unknown (not the consumer
   * protocol, or metadata that does not parse): then every topic counts as subscribed.
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const mine = consumerTopics(m.metadataFor(this.protocolName ?? m.protocols[0]?.name ?? null));
      if (mine === null) return null;
      for (const t of mine) topics.add(t);
    }
    return topics;
  }

  /**
   * Whether a static member rejoining with `protocols` changes what the group would agree on.
   * Like Kafka, a restart that only changes owned partitions or user data (as every consumer
   * restart does) does not count; a different protocol list or subscription does.
   */
  staticRejoinChanges(old: GroupMember, protocolType: string, protocols: readonly Protocol[]): boolean {
    if (protocolType !== old.protocolType || this.protocolName === null) return true;
    if (protocols.length !== old.protocols.length || protocols.some((p, i) => p.name !== old.protocols[i]!.name)) return true;
    const before = old.metadataFor(this.protocolName);
    const after = protocols.find((p) => p.name === this.protocolName)?.metadata;
    if (after === undefined) return true;
    if (protocolType === 'consumer') {
      const a = consumerTopics(before);
      const b = consumerTopics(after);
      if (a !== null && b !== null) return a.length !== b.length || a.some((t, i) => t !== b[i]);
    }
    return !old.sameProtocols(protocolType, protocols);
  }
}

/** Sorted topics of a ConsumerProtocolSubscription, or null when it does not parse. */
export function consumerTopics(metadata: Buffer): string[] | null {
  const topics = decodeSubscription(metadata);
  return topics === null ? null : [...new Set(topics)].sort();
}
