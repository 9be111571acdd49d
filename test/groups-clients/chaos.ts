// The membership-churn scenario shared by the kafkajs, Python and Java tests: three members of
// one group on a 6-partition topic under continuous production; members join, crash (SIGKILL)
// and leave. After every rebalance each partition has exactly one owner; at the end every
// produced record was processed, and any record processed twice was first processed, and never
// committed, by a member that crashed (or whose commit the rebalance rejected).
import { writeFileSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { expect } from 'vitest';
import { describeGroup, type GroupDescription } from '../../broker/client/admin.js';
import { KafkaClient } from '../../broker/client/kafka-client.js';
import { Member, sleep, waitFor, type MemberKind } from './members.js';

export const PARTITIONS = 6;

/** Produces one record per partition every few ms until stopped; remembers every acked offset. */
export class ContinuousProducer {
  readonly acked = new Set<string>();
  private running = true;
  private loop: Promise<void> | null = null;
  private producer: Producer;
  sent = 0;

  constructor(bootstrap: string, private readonly topic: string) {
    const kafka = new Kafka({ clientId: 'chaos-producer', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.loop = (async () => {
      while (this.running) {
        const res = await this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `r${this.sent}-${p}` })),
        });
        for (const r of res) this.acked.add(`${r.partition}:${r.baseOffset}`);
        this.sent++;
        await sleep(40);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.producer.disconnect();
  }
}

/** Every partition owned by exactly one member (per DescribeGroups). */
export function ownersOf(d: GroupDescription, topic: string): Map<number, string[]> {
  const owners = new Map<number, string[]>();
  for (const m of d.members) for (const p of m.assignment.get(topic) ?? []) owners.set(p, [...(owners.get(p) ?? []), m.clientId]);
  return owners;
}

/**
 * Waits until the group is Stable with exactly `members`, DescribeGroups gives every partition
 * exactly one owner, and each member's own reported assignment matches what the broker says.
 */
export async function settled(client: KafkaClient, group: string, topic: string, members: Member[], timeoutMs = 45_000): Promise<GroupDescription> {
  let last: GroupDescription | null = null;
  await waitFor(
    `group ${group} to settle on ${members.map((m) => m.name).join(', ')}`,
    async () => {
      const d = await describeGroup(client, group);
      last = d;
      if (d.state !== 'Stable') return false;
      const names = d.members.map((m) => m.clientId).sort();
      if (names.join() !== members.map((m) => m.name).sort().join()) return false;
      const owners = ownersOf(d, topic);
      for (let p = 0; p < PARTITIONS; p++) if ((owners.get(p) ?? []).length !== 1) return false;
      if (owners.size !== PARTITIONS) return false;
      return members.every((m) => {
        const dm = d.members.find((x) => x.clientId === m.name)!;
        return m.owned.join() === (dm.assignment.get(topic) ?? []).join();
      });
    },
    timeoutMs,
    () => `last describe: ${JSON.stringify(last, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v))}; members: ${members.map((m) => m.describe()).join(' | ')}`,
  );
  return last!;
}

export interface ChaosReport {
  produced: number;
  processed: number;
  duplicates: number;
  rebalancesChecked: number;
}

/** Checks no record is lost and duplicates only come from the at-least-once window. */
export function verifyDelivery(acked: Set<string>, members: Member[]): { processed: number; duplicates: number } {
  const seen = new Map<string, Array<{ m: Member; committed: boolean }>>();
  for (const m of members) {
    m.processed.forEach(([p, o], i) => {
      const key = `${p}:${o}`;
      seen.set(key, [...(seen.get(key) ?? []), { m, committed: m.committedInTime(i) }]);
    });
  }
  const lost = [...acked].filter((k) => !seen.has(k));
  expect(lost.slice(0, 20), `${lost.length} produced records never processed`).toEqual([]);
  let duplicates = 0;
  const bad: string[] = [];
  for (const [key, xs] of seen) {
    if (xs.length < 2) continue;
    duplicates += xs.length - 1;
    // All but one processing must be outside any commit, by a member that crashed or whose
    // commit was refused by a rebalance.
    const excused = xs.filter((x) => !x.committed && (x.m.killed || x.m.commitFailed)).length;
    if (excused < xs.length - 1) bad.push(`${key} by ${xs.map((x) => `${x.m.name}${x.committed ? '(committed)' : ''}`).join(',')}`);
  }
  expect(bad.slice(0, 20), `${bad.length} duplicates outside the at-least-once window`).toEqual([]);
  return { processed: seen.size, duplicates };
}

/** `memberOptions` go to every member (e.g. assignor=cooperative-sticky); `tag` keeps runs apart. */
export async function runChaos(kind: MemberKind, bootstrap: string, memberOptions: Record<string, string> = {}, tag = ''): Promise<ChaosReport> {
  const topic = `${kind}${tag}-chaos`;
  const group = `${kind}${tag}-chaos-group`;
  const client = await KafkaClient.connect(bootstrap);
  const all: Member[] = [];
  const spawn = (name: string, options: Record<string, string> = {}) => {
    const m = Member.spawn(kind, bootstrap, topic, group, name, { ...memberOptions, ...options });
    all.push(m);
    return m;
  };
  const producer = new ContinuousProducer(bootstrap, topic);
  let rebalancesChecked = 0;
  try {
    const admin = new Kafka({ clientId: 'chaos-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    await producer.start();

    const a = spawn(`${kind}-a`);
    // b never gets round to committing, so everything it processed is in its crash window.
    const b = spawn(`${kind}-b`, { commitEvery: '1000000' });
    const c = spawn(`${kind}-c`);
    await settled(client, group, topic, [a, b, c]);
    rebalancesChecked++;
    await waitFor('b to process records', () => b.processed.length > 0, 30_000, () => b.describe());
    const crashWindow = b.processed.length;

    await b.kill();
    await settled(client, group, topic, [a, c]);
    rebalancesChecked++;

    const d = spawn(`${kind}-d`);
    await settled(client, group, topic, [a, c, d]);
    rebalancesChecked++;

    await a.stop();
    expect(a.has('closed'), a.describe()).toBe(true);
    await settled(client, group, topic, [c, d]);
    rebalancesChecked++;

    await producer.stop();
    const done = () => {
      const got = new Set(all.flatMap((m) => m.processed.map(([p, o]) => `${p}:${o}`)));
      return [...producer.acked].every((k) => got.has(k));
    };
    await waitFor('every produced record to be processed', done, 45_000, () => all.map((m) => m.describe()).join(' | '));
    await c.stop();
    await d.stop();
    // CHAOS_DUMP=<file> keeps every member's event log for post-mortems.
    if (process.env.CHAOS_DUMP) writeFileSync(process.env.CHAOS_DUMP, JSON.stringify(all.map((m) => ({ name: m.name, killed: m.killed, events: m.events }))));
    const { processed, duplicates } = verifyDelivery(producer.acked, all);
    // Whoever took over b's partitions started again from their last commit.
    expect(duplicates).toBeGreaterThanOrEqual(crashWindow);
    return { produced: producer.acked.size, processed, duplicates, rebalancesChecked };
  } finally {
    await producer.stop().catch(() => undefined);
    for (const m of all) if (m.running) await m.kill();
    await client.close();
  }
}
