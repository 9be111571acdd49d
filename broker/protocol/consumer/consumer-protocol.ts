// The "consumer" embedded protocol carried in JoinGroup/SyncGroup bytes: an int16 version, then
// the subscription or assignment struct. The one decoding rule used everywhere:
// - a version above the highest known reads as that one (newer versions only append fields,
//   so trailing bytes are ignored);
// - a negative version, a truncated struct or an empty subscription is garbage: null
//   (an empty assignment means "no partitions", as a member outside the plan gets).
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { readConsumerProtocolSubscription, writeConsumerProtocolSubscription } from '../generated/consumer-protocol-subscription.js';
import { readConsumerProtocolAssignment, writeConsumerProtocolAssignment } from '../generated/consumer-protocol-assignment.js';

/** topic -> partitions (sorted, no duplicates when decoded). */
export type Assignment = Map<string, number[]>;

export const MAX_SUBSCRIPTION_VERSION = 3;
export const MAX_ASSIGNMENT_VERSION = 3;

export interface Subscription {
  /** The version the sender wrote (before clamping). */
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1+: partitions the member owns now (the cooperative protocol's input). */
  ownedPartitions: Assignment;
  /** v2+: generation the owned partitions are from; -1 when unknown. */
  generationId: number;
  /** v3+ */
  rackId: string | null;
}

export interface AssignmentData {
  partitions: Assignment;
  userData: Buffer | null;
}

export interface SubscriptionInput {
  topics: string[];
  userData?: Buffer | null;
  ownedPartitions?: Assignment;
  generationId?: number;
  rackId?: string | null;
  /** Default: the lowest version that carries every field given. */
  version?: number;
}

function toList(a: Assignment): Array<{ topic: string; partitions: number[] }> {
  return [...a].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
}

function fromList(list: Array<{ topic: string; partitions: number[] }>): Assignment {
  const out: Assignment = new Map();
  for (const tp of list) out.set(tp.topic, [...new Set([...(out.get(tp.topic) ?? []), ...tp.partitions])].sort((a, b) => a - b));
  return out;
}

export function encodeSubscription(s: SubscriptionInput | string[]): Buffer {
  const sub: SubscriptionInput = Array.isArray(s) ? { topics: s } : s;
  const needed = sub.rackId != null ? 3 : sub.generationId !== undefined ? 2 : sub.ownedPartitions !== undefined ? 1 : 0;
  const version = sub.version ?? needed;
  const w = new Writer();
  w.int16(version);
  writeConsumerProtocolSubscription(w, Math.min(version, MAX_SUBSCRIPTION_VERSION), {
    topics: sub.topics,
    userData: sub.userData ?? null,
    ownedPartitions: toList(sub.ownedPartitions ?? new Map()),
    generationId: sub.generationId ?? -1,
    rackId: sub.rackId ?? null,
  });
  return w.toBuffer();
}

/** Every field of a subscription, or null for garbage. */
export function readSubscription(b: Buffer): Subscription | null {
  try {
    const r = new Reader(b);
    const raw = r.int16();
    if (raw < 0) return null;
    const s = readConsumerProtocolSubscription(r, Math.min(raw, MAX_SUBSCRIPTION_VERSION));
    return { version: raw, topics: s.topics, userData: s.userData, ownedPartitions: fromList(s.ownedPartitions), generationId: s.generationId, rackId: s.rackId };
  } catch {
    return null;
  }
}

/** Topics of one member's subscription, or null if the bytes do not parse. */
export function decodeSubscription(b: Buffer): string[] | null {
  return readSubscription(b)?.topics ?? null;
}

export function encodeAssignment(a: Assignment, userData: Buffer | null = null, version = 0): Buffer {
  const w = new Writer();
  w.int16(version);
  writeConsumerProtocolAssignment(w, Math.min(version, MAX_ASSIGNMENT_VERSION), { assignedPartitions: toList(a), userData });
  return w.toBuffer();
}

/** Partitions and user data of an assignment; empty bytes are "nothing", garbage is null. */
export function readAssignment(b: Buffer): AssignmentData | null {
  if (b.length === 0) return { partitions: new Map(), userData: null };
  try {
    const r = new Reader(b);
    const v = r.int16();
    if (v < 0) return null;
    const a = readConsumerProtocolAssignment(r, Math.min(v, MAX_ASSIGNMENT_VERSION));
    return { partitions: fromList(a.assignedPartitions), userData: a.userData };
  } catch {
    return null;
  }
}

/** An assignment this member cannot read leaves it with nothing, rather than failing the group. */
export function decodeAssignment(b: Buffer): Assignment {
  return readAssignment(b)?.partitions ?? new Map();
}
