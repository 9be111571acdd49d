// Committed offsets survive a broker SIGKILL: they read back identically after the restart, and
// a consumer of the group resumes exactly from them.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { fetchGroupOffsets } from '../../broker/client/admin.js';
import { KafkaClient } from '../../broker/client/kafka-client.js';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { runProcess } from '../harness/process.js';
import { javaClientAvailable, pythonClientAvailable, requireTool } from '../harness/tools.js';
import { PARTITIONS } from './chaos.js';
import { Member, waitFor, type MemberKind } from './members.js';

const CLI = path.join(REPO_ROOT, 'dist/api/cli/main.js');
const PER_PARTITION = 50;
const java = requireTool('java', javaClientAvailable);
const python = requireTool('python', pythonClientAvailable);

async function produce(bootstrap: string, topic: string, perPartition: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'restart-producer', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, acks: -1, messages: Array.from({ length: perPartition * PARTITIONS }, (_, i) => ({ partition: i % PARTITIONS, value: `v${i}` })) });
  await p.disconnect();
}

type Snapshot = Record<string, { offset: number; leaderEpoch: number; metadata: string }>;

async function snapshot(bootstrap: string, group: string): Promise<Snapshot> {
  const client = await KafkaClient.connect(bootstrap);
  try {
    const all = await fetchGroupOffsets(client, group, null);
    const out: Snapshot = {};
    for (const [t, ps] of all) for (const [p, v] of ps) out[`${t}/${p}`] = v;
    return out;
  } finally {
    await client.close();
  }
}

describe.skipIf(!java)('committed offsets across a broker kill -9', () => {
  let broker: BrokerHandle;
  const members: Member[] = [];
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    for (const m of members) if (m.running) await m.kill();
    await broker?.stop();
  });

  it('read back identically after the restart, and consumers resume from them', { timeout: 150_000 }, async () => {
    const topic = 'durable';
    const group = 'durable-group';
    const admin = new Kafka({ clientId: 'restart-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    await produce(broker.bootstrap, topic, PER_PARTITION);

    // A Java member reads and commits everything, then leaves.
    const m1 = Member.spawn('java', broker.bootstrap, topic, group, 'durable-1');
    members.push(m1);
    await waitFor('all partitions committed', () => m1.committed.size === PARTITIONS && [...m1.committed.values()].every((o) => o === PER_PARTITION), 60_000, () => m1.describe());
    await m1.stop();
    // Move half of them back, so the resume point differs per partition.
    const reset = await runProcess(process.execPath, [CLI, 'group', 'reset-offsets', group, '-t', topic, '-p', '0,1,2', '--to', '17', '-X', broker.bootstrap]);
    expect(reset.stdout).toMatch(/durable\s+2\s+50\s+17\s+OK/);

    const before = await snapshot(broker.bootstrap, group);
    expect(Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.offset]))).toEqual({
      'durable/0': 17,
      'durable/1': 17,
      'durable/2': 17,
      'durable/3': PER_PARTITION,
      'durable/4': PER_PARTITION,
      'durable/5': PER_PARTITION,
    });

    await broker.kill();
    await broker.restart();
    expect(await snapshot(broker.bootstrap, group)).toEqual(before);

    // After more records arrive, a member of the same group (another client library when
    // available) starts exactly at each committed offset and reads to the end.
    await produce(broker.bootstrap, topic, 5);
    const kind: MemberKind = python ? 'python' : 'java';
    const m2 = Member.spawn(kind, broker.bootstrap, topic, group, 'durable-2');
    members.push(m2);
    await waitFor('the resumed member to reach the end', () => m2.committed.size === PARTITIONS && [...m2.committed.values()].every((o) => o === PER_PARTITION + 5), 60_000, () => m2.describe());
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = m2.processed.filter(([q]) => q === p).map(([, o]) => o);
      const from = before[`${topic}/${p}`]!.offset;
      expect(offsets).toEqual(Array.from({ length: PER_PARTITION + 5 - from }, (_, i) => from + i));
    }
    await m2.stop();

    // And once more through a kill: the new commits are durable too.
    const after = await snapshot(broker.bootstrap, group);
    await broker.kill();
    await broker.restart();
    expect(await snapshot(broker.bootstrap, group)).toEqual(after);
    expect(Object.values(after).map((v) => v.offset)).toEqual(Array(PARTITIONS).fill(PER_PARTITION + 5));
  });
});
