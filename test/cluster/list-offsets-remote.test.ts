// ListOffsets on a broker that does not lead the partition: answered from the shared medium (by
// timestamp, max timestamp, earliest and latest), the same as the leader answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { CreateTopics, ListOffsets, Produce } from '../../broker/client/apis.js';
import type { NodeConnection } from '../../broker/client/kafka-client.js';
import { startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { buildBatch } from '../log/batch-builder.js';
import { connect, partitionLeaders, startCluster, waitFor, type InProcessCluster } from './fixture.js';

let pg: PostgresHandle;
let cluster: InProcessCluster;

beforeAll(async () => {
  pg = await startPostgres();
  cluster = await startCluster(await pg.createDatabase('listoffsets'), [1, 2]);
});

afterAll(async () => {
  await cluster?.close();
  await pg?.stop();
});

const TOPIC = 'stamped';
const T0 = 1_700_000_000_000;

async function listOffset(c: NodeConnection, timestamp: number): Promise<{ error: number; offset: number; timestamp: number }> {
  const res = await c.send(ListOffsets, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }] });
  const p = res.topics[0]!.partitions[0]!;
  return { error: p.errorCode, offset: Number(p.offset), timestamp: Number(p.timestamp) };
}

describe('ListOffsets on a non-leader', () => {
  it('answers timestamps, max timestamp, earliest and latest from the shared medium', async () => {
    const c1 = await connect(cluster.nodes.get(1)!);
    const c2 = await connect(cluster.nodes.get(2)!);
    try {
      await c1.send(CreateTopics, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
      const leader = await waitFor('a leader', async () => {
        const l = (await partitionLeaders(c1, TOPIC))[0];
        return l && l.leader > 0 ? l.leader : undefined;
      });
      const [lc, fc] = leader === 1 ? [c1, c2] : [c2, c1];
      // Batch i holds records stamped T0 + 1000 i + j, j < 3: offsets 3 i + j.
      for (let i = 0; i < 4; i++) {
        const records = [0, 1, 2].map((j) => ({ value: `v${i}-${j}`, timestamp: T0 + 1000 * i + j }));
        const res = await lc.send(Produce, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildBatch(records) }] }] });
        expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
      }
      // The follower learns the published high watermark asynchronously.
      await waitFor('the non-leader to see every record', async () => ((await listOffset(fc, -1)).offset === 12 ? true : undefined));

      const cases: Array<[number, { offset: number; timestamp: number }]> = [
        [T0 - 1, { offset: 0, timestamp: T0 }],
        [T0 + 1, { offset: 1, timestamp: T0 + 1 }],
        [T0 + 2_001, { offset: 7, timestamp: T0 + 2_001 }],
        [T0 + 2_500, { offset: 9, timestamp: T0 + 3_000 }],
        [T0 + 9_999, { offset: -1, timestamp: -1 }],
        [-3, { offset: 11, timestamp: T0 + 3_002 }],
        [-2, { offset: 0, timestamp: -1 }],
        [-1, { offset: 12, timestamp: -1 }],
      ];
      for (const [ts, want] of cases) {
        const remote = await listOffset(fc, ts);
        expect(remote, `non-leader, timestamp ${ts}`).toEqual({ error: ErrorCode.NONE, ...want });
        expect(await listOffset(lc, ts), `leader, timestamp ${ts}`).toEqual({ error: ErrorCode.NONE, ...want });
      }

      // kafkajs, bootstrapped on the non-leader only.
      const fport = leader === 1 ? cluster.nodes.get(2)!.kafka.port : cluster.nodes.get(1)!.kafka.port;
      const admin = new kafkajs.Kafka({ clientId: 'lo', brokers: [`127.0.0.1:${fport}`], logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        expect(await admin.fetchTopicOffsetsByTimestamp(TOPIC, T0 + 2_001)).toEqual([{ partition: 0, offset: '7' }]);
      } finally {
        await admin.disconnect();
      }
    } finally {
      c1.conn.close();
      c2.conn.close();
    }
  });
});
