// The "consumer" embedded protocol carried in JoinGroup/SyncGroup bytes: a version prefix, then
// the subscription or assignment struct. Versions above the highest known read as that one.
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { readConsumerProtocolSubscription, writeConsumerProtocolSubscription } from '../generated/consumer-protocol-subscription.js';
import { readConsumerProtocolAssignment, writeConsumerProtocolAssignment } from '../generated/consumer-protocol-assignment.js';

export type Assignment = Map<string, number[]>;

export function encodeSubscription(topics: string[]): Buffer {
  const w = new Writer();
  w.int16(0);
  writeConsumerProtocolSubscription(w, 0, { topics, userData: null });
  return w.toBuffer();
}

/** Topics of one member's subscription, or null if the bytes do not parse. */
export function decodeSubscription(b: Buffer): string[] | null {
  try {
    const r = new Reader(b);
    const v = r.int16();
    return readConsumerProtocolSubscription(r, Math.min(Math.max(v, 0), 3)).topics;
  } catch {
    return null;
  }
}

export function encodeAssignment(a: Assignment): Buffer {
  const w = new Writer();
  w.int16(0);
  writeConsumerProtocolAssignment(w, 0, { assignedPartitions: [...a].map(([topic, partitions]) => ({ topic, partitions })), userData: null });
  return w.toBuffer();
}

export function decodeAssignment(b: Buffer): Assignment {
  const out: Assignment = new Map();
  if (b.length === 0) return out;
  try {
    const r = new Reader(b);
    const v = r.int16();
    for (const tp of readConsumerProtocolAssignment(r, Math.min(Math.max(v, 0), 3)).assignedPartitions) {
      out.set(tp.topic, [...(out.get(tp.topic) ?? []), ...tp.partitions]);
    }
  } catch {
    // An assignment this member cannot read leaves it with nothing, rather than failing the group.
  }
  return out;
}
