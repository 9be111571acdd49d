// Partition assignors the HTTP consumer offers. The protocol names match what Kafka clients use
// so a mixed group (HTTP + Java/kafkajs members) can agree on one.
import type { Assignment } from '../../protocol/consumer/consumer-protocol.js';

export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

/** Same idea as Kafka's RangeAssignor: per topic, consecutive ranges, members sorted by id. */
export function rangeAssign(members: MemberSubscription[], partitionCount: (t: string) => number | undefined): Map<string, Assignment> {
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const n = partitionCount(topic);
    if (n === undefined) continue;
    const subs = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    const per = Math.floor(n / subs.length);
    const extra = n % subs.length;
    let p = 0;
    subs.forEach((id, i) => {
      const count = per + (i < extra ? 1 : 0);
      if (count > 0) out.get(id)!.set(topic, Array.from({ length: count }, (_, k) => p + k));
      p += count;
    });
  }
  return out;
}

/** Round robin over all (topic, partition) pairs in order, skipping members not subscribed. */
export function roundRobinAssign(members: MemberSubscription[], partitionCount: (t: string) => number | undefined): Map<string, Assignment> {
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  let i = 0;
  for (const topic of topics) {
    const n = partitionCount(topic) ?? 0;
    for (let p = 0; p < n; p++) {
      for (let tries = 0; tries < sorted.length; tries++) {
        const m = sorted[i++ % sorted.length]!;
        if (!m.topics.includes(topic)) continue;
        const a = out.get(m.memberId)!;
        a.set(topic, [...(a.get(topic) ?? []), p]);
        break;
      }
    }
  }
  return out;
}

/** Offered in preference order; kafkajs calls its round robin "RoundRobinAssigner". */
export const ASSIGNORS: Record<string, typeof rangeAssign> = {
  range: rangeAssign,
  roundrobin: roundRobinAssign,
  RoundRobinAssigner: roundRobinAssign,
};
