// Records real request frames from kafkajs, kcat, confluent-kafka (Python) and the Java client by
// putting a TCP proxy between them and a Floe broker; writes test/robustness/captures/*.bin.
// Not a test: run by hand after `npm run build`:  npx tsx test/robustness/capture-frames.ts
import { writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { FrameDecoder } from '../../broker/protocol/frame-decoder.js';
import { freePorts, startBroker } from '../harness/broker.js';
import { runProcess } from '../harness/process.js';
import { javaClientJars, kcatAvailable, pythonClientAvailable, PYTHON } from '../harness/tools.js';
import { API_NAMES, encodeCaptureFile, type CapturedFrame } from './captures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.join(here, 'captures');
/** Distinct frames kept per client, API key and version (consumers repeat Fetch/Heartbeat endlessly). */
const MAX_PER_VERSION = 6;
/** Bigger frames are skipped to keep the committed files small. */
const MAX_FRAME_BYTES = 32 * 1024;

const byClient = new Map<string, CapturedFrame[]>();
const seen = new Set<string>();
let label = 'none';

function record(frame: Buffer): void {
  if (frame.length < 8 || frame.length > MAX_FRAME_BYTES) return;
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const list = byClient.get(label) ?? [];
  byClient.set(label, list);
  // Ignore the correlation id when deciding whether a frame is new.
  const body = Buffer.from(frame);
  body.writeInt32BE(0, 4);
  const key = `${label}:${body.toString('base64')}`;
  if (seen.has(key)) return;
  if (list.filter((f) => f.apiKey === apiKey && f.apiVersion === apiVersion).length >= MAX_PER_VERSION) return;
  seen.add(key);
  list.push({ apiKey, apiVersion, frame: Buffer.from(frame) });
}

function startProxy(listenPort: number, brokerPort: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: brokerPort });
    const decoder = new FrameDecoder(0x7fffffff);
    client.on('data', (d: Buffer) => {
      for (const f of decoder.push(d)) record(f);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve(server));
  });
}

async function step(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.warn(`  ${label}/${name} failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function kafkajsSession(bootstrap: string): Promise<void> {
  label = 'kafkajs';
  const kafka = new Kafka({ clientId: 'capture-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'cap-kafkajs';
  await step('createTopics', () => admin.createTopics({ topics: [{ topic, numPartitions: 3 }, { topic: 'cap-kafkajs-tmp', numPartitions: 1 }] }));
  await step('metadata', () => admin.fetchTopicMetadata({ topics: [topic] }));
  await step('listTopics', () => admin.listTopics());
  await step('describeConfigs', () => admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false }));
  await step('alterConfigs', () => admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] }));
  await step('createPartitions', () => admin.createPartitions({ topicPartitions: [{ topic: 'cap-kafkajs-tmp', count: 2 }] }));
  await step('describeCluster', () => admin.describeCluster());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    await step('send', () =>
      producer.send({
        topic,
        compression,
        acks: -1,
        messages: Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: `kafkajs value ${i} `.repeat(3), headers: { h: `v${i}` }, partition: i % 3 })),
      }),
    );
  }
  await step('sendBatch', () => producer.sendBatch({ topicMessages: [{ topic: 'cap-kafkajs-tmp', messages: [{ value: 'x' }, { value: null, key: 'tombstone' }] }] }));
  await producer.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await step('send acks=1', () => plain.send({ topic, acks: 1, messages: [{ value: 'acks1' }] }));
  await plain.disconnect();
  await step('fetchTopicOffsets', () => admin.fetchTopicOffsets(topic));
  await step('fetchTopicOffsetsByTimestamp', () => admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - 60_000));
  await step('deleteRecords', () => admin.deleteTopicRecords({ topic: 'cap-kafkajs-tmp', partitions: [{ partition: 0, offset: '1' }] }));

  const consumer = kafka.consumer({ groupId: 'cap-kafkajs-group', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await step('consume', async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let n = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 15_000);
      void consumer.run({
        eachMessage: async () => {
          if (++n >= 25) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await new Promise((r) => setTimeout(r, 1_500)); // a few heartbeats and a commit
  });
  await step('consumer disconnect', () => consumer.disconnect());
  await step('describeGroups', () => admin.describeGroups(['cap-kafkajs-group']));
  await step('listGroups', () => admin.listGroups());
  await step('fetchOffsets', () => admin.fetchOffsets({ groupId: 'cap-kafkajs-group', topics: [topic] }));
  await step('resetOffsets', () => admin.setOffsets({ groupId: 'cap-kafkajs-group', topic, partitions: [{ partition: 0, offset: '0' }] }));
  await step('deleteGroups', () => admin.deleteGroups(['cap-kafkajs-group']));
  await step('deleteTopics', () => admin.deleteTopics({ topics: ['cap-kafkajs-tmp'] }));
  await admin.disconnect();
}

async function kcatSession(bootstrap: string): Promise<void> {
  label = 'kcat';
  const topic = 'cap-kcat';
  const run = (args: string[], input?: string) => runProcess('kcat', ['-b', bootstrap, ...args], { input, timeoutMs: 20_000, allowFailure: true });
  await step('metadata', () => run(['-L', '-J']));
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const lines = Array.from({ length: 15 }, (_, i) => `${codec}-key-${i}\t${codec} value ${i} `.repeat(2)).join('\n');
    await step(`produce ${codec}`, () => run(['-P', '-t', topic, '-z', codec, '-K', '\t', '-X', 'enable.idempotence=true', '-p', String(codec.length % 2)], lines));
  }
  await step('consume', () => run(['-C', '-t', topic, '-o', 'beginning', '-e', '-q']));
  await step('query offsets', () => run(['-Q', '-t', `${topic}:0:-1`, '-t', `${topic}:1:${Date.now() - 60_000}`]));
  await step('group consume', () => run(['-G', 'cap-kcat-group', '-o', 'beginning', '-e', '-q', '-c', '20', '-X', 'auto.offset.reset=earliest', topic]));
}

const PY_SESSION = String.raw`
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource, OffsetSpec
b = sys.argv[1]
t = 'cap-python'
def step(name, fn):
    try:
        fn()
    except Exception as e:
        print(name, 'failed:', e, file=sys.stderr)
a = AdminClient({'bootstrap.servers': b})
step('create', lambda: [f.result(10) for f in a.create_topics([NewTopic(t, num_partitions=2, replication_factor=1), NewTopic(t + '-tmp', num_partitions=1, replication_factor=1)]).values()])
step('list_topics', lambda: a.list_topics(timeout=10))
step('describe_configs', lambda: [f.result(10) for f in a.describe_configs([ConfigResource('topic', t)]).values()])
step('create_partitions', lambda: [f.result(10) for f in a.create_partitions([NewPartitions(t + '-tmp', 2)]).values()])
for codec in ['none', 'gzip', 'snappy', 'lz4', 'zstd']:
    def produce():
        p = Producer({'bootstrap.servers': b, 'enable.idempotence': True, 'compression.type': codec, 'linger.ms': 5})
        for i in range(20):
            p.produce(t, key=str(i), value=(codec + ' value %d ' % i) * 3, partition=i % 2, headers=[('h', b'v')])
        p.flush(10)
    step('produce ' + codec, produce)
def consume():
    c = Consumer({'bootstrap.servers': b, 'group.id': 'cap-python-group', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe([t])
    n = 0
    deadline = time.time() + 15
    while n < 60 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    step('commit', lambda: c.commit(asynchronous=False))
    step('committed', lambda: c.committed([TopicPartition(t, 0), TopicPartition(t, 1)], timeout=5))
    c.close()
step('consume', consume)
step('list_offsets', lambda: [f.result(10) for f in a.list_offsets({TopicPartition(t, 0): OffsetSpec.latest(), TopicPartition(t, 1): OffsetSpec.earliest()}).values()])
step('list_groups', lambda: a.list_consumer_groups().result(10))
step('describe_groups', lambda: [f.result(10) for f in a.describe_consumer_groups(['cap-python-group']).values()])
step('delete_topics', lambda: [f.result(10) for f in a.delete_topics([t + '-tmp']).values()])
`;

async function pythonSession(bootstrap: string): Promise<void> {
  label = 'python';
  const r = await runProcess(PYTHON, ['-c', PY_SESSION, bootstrap], { timeoutMs: 60_000, allowFailure: true });
  if (r.stderr.trim()) console.warn(`  python: ${r.stderr.trim().split('\n').slice(0, 8).join('\n  ')}`);
}

async function javaSession(bootstrap: string): Promise<void> {
  label = 'java';
  const jar = javaClientJars()[0];
  if (!jar) return;
  const java = (args: string[]) => runProcess('java', ['-jar', jar.jar, ...args], { timeoutMs: 60_000, allowFailure: true });
  for (const args of [['admin', bootstrap], ['produce-consume', bootstrap, 'cap-java', 'zstd'], ['produce-consume', bootstrap, 'cap-java-lz4', 'lz4'], ['group-consume', bootstrap, 'cap-java', 'cap-java-group', '100']]) {
    const r = await java(args);
    if (r.code !== 0) console.warn(`  java ${args[0]}: exit ${r.code}: ${r.stderr.trim().split('\n')[0]}`);
  }
}

async function main(): Promise<void> {
  const [proxyPort] = (await freePorts(1)) as [number];
  const broker = await startBroker({ args: ['--advertised-port', String(proxyPort), '--num-partitions', '2'] });
  const proxy = await startProxy(proxyPort, broker.kafkaPort);
  const bootstrap = `127.0.0.1:${proxyPort}`;
  try {
    await kafkajsSession(bootstrap);
    if (kcatAvailable()) await kcatSession(bootstrap);
    if (pythonClientAvailable()) await pythonSession(bootstrap);
    await javaSession(bootstrap);
  } finally {
    proxy.close();
    await broker.stop();
  }
  mkdirSync(OUT_DIR, { recursive: true });
  let total = 0;
  for (const [client, frames] of byClient) {
    if (client === 'none' || frames.length === 0) continue;
    const bytes = encodeCaptureFile(frames);
    total += bytes.length;
    writeFileSync(path.join(OUT_DIR, `${client}.bin`), bytes);
    const apis = [...new Set(frames.map((f) => `${API_NAMES[f.apiKey] ?? f.apiKey}v${f.apiVersion}`))].sort();
    console.log(`${client}: ${frames.length} frames, ${bytes.length} bytes: ${apis.join(' ')}`);
  }
  console.log(`total ${total} bytes in ${OUT_DIR}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
