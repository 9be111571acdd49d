// Admin APIs current clients call: DescribeTopicPartitions, DescribeLogDirs, ElectLeaders,
// List/AlterPartitionReassignments, and what an API Floe does not serve gets.
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from './admin-harness.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { readResponse as readDescribeTopicPartitionsResponse, writeRequest as writeDescribeTopicPartitionsRequest } from '../../broker/handlers/describe-topic-partitions.js';
import { readDescribeLogDirsResponse, writeDescribeLogDirsRequest } from '../../broker/protocol/generated/describe-log-dirs.js';
import { readElectLeadersResponse, writeElectLeadersRequest } from '../../broker/protocol/generated/elect-leaders.js';
import { readAlterPartitionReassignmentsResponse, writeAlterPartitionReassignmentsRequest } from '../../broker/protocol/generated/alter-partition-reassignments.js';
import { readListPartitionReassignmentsResponse, writeListPartitionReassignmentsRequest } from '../../broker/protocol/generated/list-partition-reassignments.js';
import { writeDescribeQuorumRequest } from '../../broker/protocol/generated/describe-quorum.js';
import { writeApiVersionsRequest } from '../../broker/protocol/generated/api-versions.js';
import { supportedApis } from '../../broker/handlers/registry.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DescribeTopicPartitions (75)', () => {
  it('describes topics in name order and pages by partition limit and cursor', async () => {
    h = await openHarness();
    await h.createTopic('b', 3);
    await h.createTopic('a', 2);
    const first = await h.call(75, 0, writeDescribeTopicPartitionsRequest, { topics: [], responsePartitionLimit: 3, cursor: null }, readDescribeTopicPartitionsResponse);
    expect(first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([['a', [0, 1]], ['b', [0]]]);
    expect(first.nextCursor).toEqual({ topicName: 'b', partitionIndex: 1 });
    const p0 = first.topics[0]!.partitions[0]!;
    expect(p0).toMatchObject({ errorCode: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0], eligibleLeaderReplicas: [], lastKnownElr: [] });
    const second = await h.call(75, 0, writeDescribeTopicPartitionsRequest, { topics: [], responsePartitionLimit: 3, cursor: first.nextCursor }, readDescribeTopicPartitionsResponse);
    expect(second.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)])).toEqual([['b', [1, 2]]]);
    expect(second.nextCursor).toBeNull();
  });

  it('answers unknown topics with UNKNOWN_TOPIC_OR_PARTITION and a bad cursor with INVALID_REQUEST', async () => {
    h = await openHarness();
    await h.createTopic('x', 1);
    const res = await h.call(75, 0, writeDescribeTopicPartitionsRequest, { topics: [{ name: 'x' }, { name: 'nope' }], responsePartitionLimit: 2000, cursor: null }, readDescribeTopicPartitionsResponse);
    expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['x', ErrorCode.NONE]]);
    const bad = await h.call(75, 0, writeDescribeTopicPartitionsRequest, { topics: [{ name: 'x' }], responsePartitionLimit: 10, cursor: { topicName: 'other', partitionIndex: 0 } }, readDescribeTopicPartitionsResponse);
    expect(bad.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('DescribeLogDirs (35)', () => {
  it('reports the data dir with per-partition sizes and disk totals', async () => {
    h = await openHarness();
    await h.createTopic('sized', 2);
    await h.append('sized', 1, 5);
    const res = await h.call(35, 4, writeDescribeLogDirsRequest, { topics: null }, readDescribeLogDirsResponse);
    expect(res.results).toHaveLength(1);
    const dir = res.results[0]!;
    expect(dir.errorCode).toBe(ErrorCode.NONE);
    expect(dir.logDir).toBe(h.broker.config.dataDir);
    expect(dir.totalBytes).toBeGreaterThan(0);
    expect(dir.usableBytes).toBeGreaterThan(0);
    const parts = dir.topics.find((t) => t.name === 'sized')!.partitions;
    expect(parts.map((p) => p.partitionIndex)).toEqual([0, 1]);
    expect(parts[0]!.partitionSize).toBe(0);
    expect(parts[1]!.partitionSize).toBeGreaterThan(0);
    const some = await h.call(35, 4, writeDescribeLogDirsRequest, { topics: [{ topic: 'sized', partitions: [1, 7] }, { topic: 'missing', partitions: [0] }] }, readDescribeLogDirsResponse);
    expect(some.results[0]!.topics).toEqual([{ name: 'sized', partitions: [expect.objectContaining({ partitionIndex: 1 })] }]);
  });
});

describe('ElectLeaders (43) and partition reassignments (45, 46) on a single node', () => {
  it('answers ELECTION_NOT_NEEDED for known partitions and UNKNOWN_TOPIC_OR_PARTITION otherwise', async () => {
    h = await openHarness();
    await h.createTopic('e', 2);
    const res = await h.call(43, 2, writeElectLeadersRequest, { electionType: 0, topicPartitions: [{ topic: 'e', partitions: [0, 5] }], timeoutMs: 1000 }, readElectLeadersResponse);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode])).toEqual([
      [0, ErrorCode.ELECTION_NOT_NEEDED],
      [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    // All partitions: only partitions where an election was tried are listed.
    const all = await h.call(43, 2, writeElectLeadersRequest, { electionType: 1, topicPartitions: null, timeoutMs: 1000 }, readElectLeadersResponse);
    expect(all.replicaElectionResults).toEqual([]);
  });

  it('lists no ongoing reassignment and accepts only [this node] as replicas', async () => {
    h = await openHarness();
    await h.createTopic('r', 1);
    const list = await h.call(46, 0, writeListPartitionReassignmentsRequest, { timeoutMs: 1000, topics: null }, readListPartitionReassignmentsResponse);
    expect(list).toMatchObject({ errorCode: ErrorCode.NONE, topics: [] });
    const res = await h.call(
      45,
      0,
      writeAlterPartitionReassignmentsRequest,
      { timeoutMs: 1000, topics: [{ name: 'r', partitions: [{ partitionIndex: 0, replicas: [0] }, { partitionIndex: 0, replicas: [1] }, { partitionIndex: 0, replicas: null }, { partitionIndex: 3, replicas: [0] }] }] },
      readAlterPartitionReassignmentsResponse,
    );
    expect(res.responses[0]!.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(res.responses[0]!.partitions[1]!.errorMessage).toMatch(/not live brokers/);
  });
});

describe('APIs and versions Floe does not serve', () => {
  it('advertises the new admin APIs but not DescribeQuorum', () => {
    const byKey = new Map(supportedApis().map((a) => [a.apiKey, [a.minVersion, a.maxVersion]]));
    expect(byKey.get(75)).toEqual([0, 0]);
    expect(byKey.get(35)).toEqual([0, 4]);
    expect(byKey.get(43)).toEqual([0, 2]);
    expect(byKey.get(45)).toEqual([0, 0]);
    expect(byKey.get(46)).toEqual([0, 0]);
    expect(byKey.has(55)).toBe(false);
  });

  it('closes the connection for an unadvertised API instead of a 6-byte frame', async () => {
    h = await openHarness();
    await expect(h.raw(55, 2, writeDescribeQuorumRequest, { topics: [] })).rejects.toThrow(/api key 55 is not served/);
  });

  it('still answers a too-new ApiVersions in v0 (KIP-511)', async () => {
    h = await openHarness();
    const frame = await h.raw(18, 99, (w) => writeApiVersionsRequest(w, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }), {});
    expect(frame!.readInt16BE(4)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(frame!.length).toBeGreaterThan(6);
  });
});
