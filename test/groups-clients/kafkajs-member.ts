// A kafkajs 2.2.4 group member as a child process (so a test can SIGKILL it). Same JSON-line
// protocol as the Java and Python members: records, commits and assignments on stdout.
// Usage: node --import tsx kafkajs-member.ts <bootstrap> <topic> <group> [client=..] [session=ms] [commitEvery=n]
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, group, ...rest] = process.argv.slice(2);
if (!bootstrap || !topic || !group) {
  process.stderr.write('usage: kafkajs-member.ts <bootstrap> <topic> <group> [client=..] [session=ms]\n');
  process.exit(2);
}
const opt = new Map(rest.map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]));

// Pipes are written synchronously on Linux, so a line is out before any SIGKILL can land.
function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

const kafka = new Kafka({ clientId: opt.get('client') ?? 'floe-member', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: Number(opt.get('session') ?? 6000),
  rebalanceTimeout: 15_000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 200,
});

consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  emit('assigned', { partitions: assigned, owned: assigned, memberId: e.payload.memberId });
});
consumer.on(consumer.events.CRASH, (e) => emit('crash', { error: String(e.payload.error) }));

const commitEvery = Number(opt.get('commitEvery') ?? 1);
let batches = 0;
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  // disconnect() leaves the group.
  consumer
    .disconnect()
    .catch(() => undefined)
    .finally(() => {
      emit('closed');
      process.exit(0);
    });
});

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
emit('started');
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch, resolveOffset, isStale }) => {
    if (batch.messages.length === 0 || isStale()) return;
    const records = batch.messages.map((m) => [batch.partition, Number(m.offset)]);
    emit('records', { records });
    const last = batch.messages[batch.messages.length - 1]!;
    resolveOffset(last.offset);
    if (++batches % commitEvery !== 0) return;
    const next = String(Number(last.offset) + 1);
    try {
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }]);
      emit('committed', { offsets: { [batch.partition]: Number(next) } });
    } catch (err) {
      // Rebalanced away before the commit landed: the records will be read again elsewhere.
      emit('commit-failed', { error: String(err) });
    }
  },
});
