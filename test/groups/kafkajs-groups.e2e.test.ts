// End to end against a real `floe serve` process (needs `npm run build`): kafkajs 2.2.4 consumer
// groups rebalance over a 6-partition topic, and committed offsets survive a SIGKILL.
import { afterAll, describe, expect, it } from 'vitest';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type IMemberAssignment } from 'kafkajs';
import { startBroker, type BrokerHandle } from '../harness/broker.js';

const TOPIC = 'orders';
const GROUP = 'orders-e2e';
const PARTITIONS = 6;
const PER_PARTITION = 10;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every partition owned by exactly one member, and every member owns some. */
function exactCover(assignments: IMemberAssignment[]): boolean {
  const owned = assignments.flatMap((a) => a[TOPIC] ?? []);
  const unique = new Set(owned);
  return assignments.every((a) => (a[TOPIC] ?? []).length > 0) && owned.length === PARTITIONS && unique.size === PARTITIONS && [...unique].every((p) => p >= 0 && p < PARTITIONS);
}

function client(broker: BrokerHandle, id: string): Kafka {
  return new Kafka({ clientId: id, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100 } });
}

async function committed(admin: Admin): Promise<Map<number, string>> {
  const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return new Map(res.find((t) => t.topic === TOPIC)!.partitions.map((p) => [p.partition, p.offset]));
}

describe('consumer groups with kafkajs against floe serve', () => {
  let broker: BrokerHandle | undefined;
  const consumers: Consumer[] = [];
  const admins: Admin[] = [];

  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => {});
    for (const a of admins) await a.disconnect().catch(() => {});
    await broker?.stop().catch(() => {});
  });

  it('balances 3 consumers over 6 partitions, commits, and keeps offsets across SIGKILL', async () => {
    broker = await startBroker();
    const kafka = client(broker, 'groups-e2e');
    const admin = kafka.admin();
    admins.push(admin);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: PARTITIONS * PER_PARTITION }, (_, i) => ({ partition: i % PARTITIONS, value: `m${i}` })),
    });

    const latest = new Map<number, IMemberAssignment>();
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      // kafkajs heartbeats between fetches, so a short fetch wait keeps rebalances quick.
      const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, rebalanceTimeout: 15_000, heartbeatInterval: 500, maxWaitTimeInMs: 300 });
      consumers.push(c);
      c.on(c.events.GROUP_JOIN, (e) => latest.set(i, e.payload.memberAssignment));
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          seen.add(`${partition}:${message.offset}`);
        },
      });
    }

    await waitFor('a balanced, stable group', async () => {
      if (latest.size !== 3 || !exactCover([...latest.values()])) return false;
      const { groups } = await admin.describeGroups([GROUP]);
      const g = groups[0]!;
      if (g.state !== 'Stable' || g.members.length !== 3) return false;
      const decoded = g.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {});
      return exactCover(decoded);
    });
    const { groups } = await admin.describeGroups([GROUP]);
    expect(groups[0]).toMatchObject({ state: 'Stable', protocolType: 'consumer' });
    expect(groups[0]!.members.every((m) => m.memberMetadata.length > 0)).toBe(true);

    await waitFor('every message consumed', () => seen.size === PARTITIONS * PER_PARTITION);
    // Graceful leave commits the final offsets.
    for (const c of consumers.splice(0)) await c.disconnect();
    await waitFor('offsets committed', async () => [...(await committed(admin)).values()].every((o) => o === String(PER_PARTITION)));
    const before = await committed(admin);
    expect(before.size).toBe(PARTITIONS);
    const { groups: afterLeave } = await admin.describeGroups([GROUP]);
    expect(afterLeave[0]!.state).toBe('Empty');
    await producer.disconnect();
    await admin.disconnect();
    admins.splice(0);

    await broker.kill();
    await broker.restart();

    const kafka2 = client(broker, 'groups-e2e-2');
    const admin2 = kafka2.admin();
    admins.push(admin2);
    await admin2.connect();
    expect(await committed(admin2)).toEqual(before);
    expect((await admin2.listGroups()).groups.map((g) => g.groupId)).toContain(GROUP);

    // A consumer of the same group resumes at the committed offsets: it sees only new records.
    const producer2 = kafka2.producer();
    await producer2.connect();
    await producer2.send({ topic: TOPIC, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `late${p}` })) });
    await producer2.disconnect();
    const resumed: string[] = [];
    const c = kafka2.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 300 });
    consumers.push(c);
    await c.connect();
    await c.subscribe({ topic: TOPIC, fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        resumed.push(`${partition}:${message.offset}:${message.value?.toString()}`);
      },
    });
    await waitFor('the new records', () => resumed.length >= PARTITIONS);
    expect(resumed.sort()).toEqual(Array.from({ length: PARTITIONS }, (_, p) => `${p}:${PER_PARTITION}:late${p}`).sort());
  }, 180_000);
});
