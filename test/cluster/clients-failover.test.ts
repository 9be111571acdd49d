// Real clients through a leader change: kafkajs, confluent-kafka (Python) and the Java client
// produce (idempotent, acks=all) to a three-broker cluster while the leader of partition 0 is
// SIGKILLed; production must continue on the new leader and everything acknowledged must be read
// back exactly once.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTopics } from '../../broker/client/apis.js';
import { openNode } from '../../broker/client/kafka-client.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { REPO_ROOT, startBroker, type BrokerHandle } from '../harness/broker.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { javaClientAvailable, javaClientJars, PYTHON, pythonClientAvailable, requireTool } from '../harness/tools.js';
import { partitionLeaders, sleep, waitFor } from './fixture.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const TTL_MS = 2000;
const PARTITIONS = 3;
const PRODUCE_SECONDS = 12;
const runPython = requireTool('python', pythonClientAvailable);
const runJava = requireTool('java', javaClientAvailable);

interface Summary {
  client: string;
  acked: number;
  errorCount: number;
  consumed: number;
  duplicateValues: number;
  missing: number;
  [k: string]: unknown;
}

let pg: PostgresHandle;
let dataDir: string;
const brokers = new Map<number, BrokerHandle>();

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase('clients_failover');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-clients-failover-'));
  for (const id of [1, 2, 3]) {
    brokers.set(id, await startBroker({ dataDir, args: ['--control', url, '--node-id', String(id), '--lease-ttl-ms', String(TTL_MS), '--heartbeat-ms', '300'] }));
  }
}, 120_000);

afterAll(async () => {
  for (const b of brokers.values()) await b.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await pg?.stop();
});

const bootstrap = () => [...brokers.values()].map((b) => b.bootstrap);

async function leaderOfPartition0(topic: string, notId?: number): Promise<{ leader: number; epoch: number }> {
  return waitFor(`a live leader of ${topic}-0`, async () => {
    for (const b of brokers.values()) {
      try {
        const c = await openNode('127.0.0.1', b.kafkaPort);
        try {
          const p = (await partitionLeaders(c, topic))[0];
          if (p && p.leader > 0 && p.leader !== notId) return { leader: p.leader, epoch: p.epoch };
        } finally {
          c.conn.close();
        }
      } catch {
        // that broker is down
      }
    }
    return undefined;
  }, 30_000);
}

/**
 * Creates the topic, starts `client`, SIGKILLs partition 0's leader once 100 records are
 * acknowledged, and returns the client's summary with what was acknowledged at the kill.
 */
async function throughLeaderChange(topic: string, client: (onAcked: (count: number) => void) => Promise<Summary>): Promise<{ summary: Summary; ackedAtKill: number; before: { leader: number; epoch: number }; after: { leader: number; epoch: number } }> {
  const c = await openNode('127.0.0.1', brokers.get(1)!.kafkaPort);
  const res = await c.send(CreateTopics, { topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
  c.conn.close();
  expect(res.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  const before = await leaderOfPartition0(topic);
  let acked = 0;
  let reached: () => void = () => {};
  const hundred = new Promise<void>((r) => (reached = r));
  const done = client((n) => {
    acked = n;
    if (n >= 100) reached();
  });
  await Promise.race([hundred, done]);
  const ackedAtKill = acked;
  const victim = brokers.get(before.leader)!;
  await victim.kill();
  const after = await leaderOfPartition0(topic, before.leader);
  const summary = await done;
  await victim.restart();
  return { summary, ackedAtKill, before, after };
}

function expectContinued(r: Awaited<ReturnType<typeof throughLeaderChange>>): void {
  const { summary, ackedAtKill, before, after } = r;
  expect(after.leader).not.toBe(before.leader);
  expect(after.epoch).toBeGreaterThan(before.epoch);
  expect(ackedAtKill).toBeGreaterThanOrEqual(100);
  // Production went on after the leader died, and everything acknowledged came back once.
  expect(summary.acked).toBeGreaterThan(ackedAtKill + 100);
  expect(summary).toMatchObject({ errorCount: 0, missing: 0, duplicateValues: 0 });
  expect(summary.consumed).toBeGreaterThanOrEqual(summary.acked);
}

/** Runs a client program that prints {"event":"acked"} progress lines and a final summary line. */
function runClientProcess(cmd: string, args: string[], onAcked: (n: number) => void): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let buffered = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      buffered += b.toString();
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (line.startsWith('{"event":"acked"')) onAcked((JSON.parse(line) as { count: number }).count);
      }
    });
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{"client"')) reject(new Error(`${cmd} exited ${code}\nstdout tail: ${out.slice(-2000)}\nstderr tail: ${err.slice(-4000)}`));
      else resolve(JSON.parse(last) as Summary);
    });
  });
}

describe('real clients through a leader change (SIGKILL of partition 0\'s leader)', () => {
  it('kafkajs: idempotent producer continues on the new leader; consumer reads every acknowledged record once', { timeout: 180_000 }, async () => {
    const topic = 'failover-kafkajs';
    const r = await throughLeaderChange(topic, async (onAcked) => {
      const kafka = new Kafka({ clientId: 'failover-kafkajs', brokers: bootstrap(), logLevel: logLevel.NOTHING, requestTimeout: 5_000, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1_000 } });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, metadataMaxAge: 1_000 });
      await producer.connect();
      const acked = new Map<string, string>();
      let errors = 0;
      const deadline = Date.now() + PRODUCE_SECONDS * 1000;
      for (let i = 0; Date.now() < deadline; i++) {
        const value = `js-${i}`;
        try {
          const [md] = await producer.send({ topic, acks: -1, messages: [{ key: `k-${i}`, value, partition: i % PARTITIONS }] });
          acked.set(`${md!.partition}@${md!.baseOffset}`, value);
          if (acked.size % 50 === 0) onAcked(acked.size);
        } catch {
          errors++;
        }
        await sleep(5);
      }
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: 'failover-kafkajs-reader', maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen = new Map<string, string | null>();
      const values: Array<string | null> = [];
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.set(`${partition}@${message.offset}`, message.value?.toString() ?? null);
          values.push(message.value?.toString() ?? null);
        },
      });
      await waitFor('kafkajs to read every acknowledged record', async () => ([...acked.keys()].every((k) => seen.has(k)) ? true : undefined), 60_000).catch(() => {});
      await consumer.disconnect();
      const missing = [...acked].filter(([k, v]) => seen.get(k) !== v).length;
      return { client: 'kafkajs', acked: acked.size, errorCount: errors, consumed: seen.size, duplicateValues: values.length - new Set(values).size, missing };
    });
    console.log(`kafkajs through leader change: ${JSON.stringify(r)}`);
    expectContinued(r);
  });

  it.skipIf(!runPython)('confluent-kafka (Python): produce and consume continue across the leader change', { timeout: 180_000 }, async () => {
    const topic = 'failover-python';
    const r = await throughLeaderChange(topic, (onAcked) => runClientProcess(PYTHON, [path.join(REPO_ROOT, 'test/cluster/failover_client.py'), bootstrap().join(','), topic, String(PARTITIONS), String(PRODUCE_SECONDS)], onAcked));
    console.log(`python through leader change: ${JSON.stringify(r)}`);
    expectContinued(r);
  });

  it.skipIf(!runJava)('Java kafka-clients: produce and consume continue across the leader change', { timeout: 180_000 }, async () => {
    const topic = 'failover-java';
    const jar = javaClientJars()[0]!.jar;
    const r = await throughLeaderChange(topic, (onAcked) => runClientProcess('java', ['-cp', jar, path.join(REPO_ROOT, 'test/cluster/FailoverClient.java'), bootstrap().join(','), topic, String(PARTITIONS), String(PRODUCE_SECONDS)], onAcked));
    console.log(`java through leader change: ${JSON.stringify(r)}`);
    expectContinued(r);
  });
});
