// Java KafkaConsumer restarts that must not move partitions a member keeps: the
// cooperative-sticky assignor (incremental rebalances) and static membership (no rebalance).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaClient } from '../../broker/client/kafka-client.js';
import { startBroker, type BrokerHandle } from '../harness/broker.js';
import { javaClientAvailable, requireTool } from '../harness/tools.js';
import { PARTITIONS, settled } from './chaos.js';
import { Member, waitFor } from './members.js';

const run = requireTool('java', javaClientAvailable);

/** Partitions revoked from or lost by m after its first `from` events. */
function movedAway(m: Member, from: number): number[] {
  return m.events.slice(from).flatMap((e) => (e.event === 'revoked' || e.event === 'lost' ? e.partitions ?? [] : []));
}

describe.skipIf(!run)('Java consumers restart without moving kept partitions', () => {
  let broker: BrokerHandle;
  let client: KafkaClient;
  const members: Member[] = [];
  const spawn = (topic: string, group: string, name: string, options: Record<string, string>) => {
    const m = Member.spawn('java', broker.bootstrap, topic, group, name, options);
    members.push(m);
    return m;
  };

  beforeAll(async () => {
    broker = await startBroker();
    client = await KafkaClient.connect(broker.bootstrap);
    const admin = new Kafka({ clientId: 'sticky-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: ['coop', 'static'].map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
    await admin.disconnect();
  });
  afterAll(async () => {
    for (const m of members) if (m.running) await m.kill();
    await client?.close();
    await broker?.stop();
  });

  it('cooperative-sticky: a member leaving and a new one joining only move their share', { timeout: 150_000 }, async () => {
    const opts = { assignor: 'cooperative-sticky' };
    const [a, b, c] = ['coop-a', 'coop-b', 'coop-c'].map((n) => spawn('coop', 'coop-group', n, opts)) as [Member, Member, Member];
    await settled(client, 'coop-group', 'coop', [a, b, c]);
    const before = { a: [...a.owned], b: [...b.owned] };
    const mark = { a: a.events.length, b: b.events.length };
    expect(before.a.length).toBe(2);

    await c.stop();
    await settled(client, 'coop-group', 'coop', [a, b]);
    // Survivors keep what they had and only gain c's partitions.
    expect(movedAway(a, mark.a)).toEqual([]);
    expect(movedAway(b, mark.b)).toEqual([]);
    for (const p of before.a) expect(a.owned).toContain(p);
    for (const p of before.b) expect(b.owned).toContain(p);
    const middle = { a: [...a.owned], b: [...b.owned] };
    const mark2 = { a: a.events.length, b: b.events.length };

    const c2 = spawn('coop', 'coop-group', 'coop-c2', opts);
    await settled(client, 'coop-group', 'coop', [a, b, c2]);
    // Only the partitions handed to the newcomer were revoked; everything a survivor still owns never moved.
    for (const [m, mid, at] of [[a, middle.a, mark2.a], [b, middle.b, mark2.b]] as const) {
      const revoked = movedAway(m, at);
      expect(revoked.filter((p) => m.owned.includes(p))).toEqual([]);
      expect(m.owned.every((p) => mid.includes(p))).toBe(true);
      expect(revoked.every((p) => c2.owned.includes(p))).toBe(true);
    }
    expect(c2.owned.length).toBe(2);
    expect(a.events.some((e) => e.event === 'lost') || b.events.some((e) => e.event === 'lost')).toBe(false);
    for (const m of [a, b, c2]) await m.stop();
  });

  it('static membership: a SIGKILLed member restarting with its instance id gets its partitions back without a rebalance', { timeout: 150_000 }, async () => {
    const opt = (i: string) => ({ instance: i, session: '20000' });
    const s1 = spawn('static', 'static-group', 'static-1', opt('i1'));
    const s2 = spawn('static', 'static-group', 'static-2', opt('i2'));
    const s3 = spawn('static', 'static-group', 'static-3', opt('i3'));
    await settled(client, 'static-group', 'static', [s1, s2, s3]);
    const generation = (m: Member) => [...m.events].reverse().find((e) => e.event === 'assigned')?.generation;
    const gen = generation(s1);
    expect(gen).toBeGreaterThan(0);
    const owned2 = [...s2.owned];
    const mark = { s1: s1.events.length, s3: s3.events.length };

    await s2.kill();
    const s2b = spawn('static', 'static-group', 'static-2b', opt('i2'));
    await waitFor('the restarted member to get its assignment', () => s2b.has('assigned'), 60_000, () => s2b.describe());
    // Same generation: the coordinator swapped the member in place instead of rebalancing.
    expect(generation(s2b)).toBe(gen);
    expect(s2b.owned).toEqual(owned2);
    await settled(client, 'static-group', 'static', [s1, s2b, s3]);
    expect(s1.events.slice(mark.s1).filter((e) => e.event !== 'records' && e.event !== 'committed')).toEqual([]);
    expect(s3.events.slice(mark.s3).filter((e) => e.event !== 'records' && e.event !== 'committed')).toEqual([]);
  });
});
