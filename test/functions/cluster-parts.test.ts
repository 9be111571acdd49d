// The cluster pieces of the function runtime against a real PostgreSQL: the shared registry,
// and a group member speaking the Kafka wire that follows its coordinator when the group lease
// moves to another broker (in-process cluster of two nodes on one data dir).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { startCluster, waitFor, type InProcessCluster } from '../cluster/fixture.js';
import { PostgresFunctionRegistry } from '../../stream-functions/pg-registry.js';
import { DEFAULT_LIMITS, FunctionError, type FunctionRecord, type VersionSpec } from '../../stream-functions/spec.js';
import { GroupMember, type TopicPartition } from '../../broker/client/group/member.js';
import { InProcessGroupTransport } from '../../broker/client/group/transport.js';
import { WireGroupTransport } from '../../broker/client/group/wire-transport.js';

const run = postgresAvailable();
let server: PostgresHandle;

beforeAll(async () => {
  if (run) server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function version(n: number, createdAt: number): VersionSpec {
  return { version: n, artifact: { kind: 'builtin', name: 'materialize' }, inputs: ['in'], outputs: [], table: 't', vars: { key: 'id' }, fromOffset: { kind: 'earliest' }, parallelism: 1, limits: { ...DEFAULT_LIMITS }, createdAt };
}

describe.skipIf(!run)('PostgresFunctionRegistry', () => {
  it('is shared by brokers: puts, pauses and deletes are seen on refresh; a racing deploy of the same version is refused', async () => {
    const url = await server.createDatabase('fnreg');
    const pools = [new pg.Pool({ connectionString: url, max: 2 }), new pg.Pool({ connectionString: url, max: 2 })];
    try {
      const [a, b] = pools.map((p) => new PostgresFunctionRegistry(p)) as [PostgresFunctionRegistry, PostgresFunctionRegistry];
      // Two brokers starting together both create the tables.
      await Promise.all([a.open(), b.open()]);
      expect(a.list()).toEqual([]);

      const rec: FunctionRecord = { name: 'f', active: 1, paused: false, versions: [version(1, 1000)] };
      await a.put(rec);
      expect(await b.refresh()).toBe(true);
      expect(b.get('f')).toEqual(rec);
      expect(await b.refresh()).toBe(false);

      // Both deploy "v2" from the same view: the second one is refused, not silently merged.
      await a.put({ ...rec, active: 2, versions: [version(1, 1000), version(2, 2000)] });
      const racing = b.put({ ...rec, active: 2, versions: [version(1, 1000), version(2, 2001)] });
      await expect(racing).rejects.toBeInstanceOf(FunctionError);
      await expect(racing).rejects.toMatchObject({ status: 409, code: 'CONFLICT' });
      await b.refresh();
      expect(b.get('f')!.versions.map((v) => v.createdAt)).toEqual([1000, 2000]);

      await b.put({ ...b.get('f')!, paused: true });
      expect(await a.refresh()).toBe(true);
      expect(a.get('f')).toMatchObject({ paused: true, active: 2 });

      await a.remove('f');
      await b.refresh();
      expect(b.list()).toEqual([]);
      // Deleted with its versions: the name starts over at v1.
      await b.put(rec);
      await a.refresh();
      expect(a.get('f')!.versions).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe.skipIf(!run)('a function group member over the wire', () => {
  let cluster: InProcessCluster;

  afterAll(async () => {
    await cluster?.close();
  });

  it('joins through a broker that is not the coordinator, and follows the group lease when the coordinator stops', async () => {
    const url = await server.createDatabase('fnwire');
    cluster = await startCluster(url, [1, 2], { leaseTtlMs: 2000, heartbeatMs: 300 });
    const groupId = 'floe-fn-wiretest';
    await cluster.nodes.get(1)!.broker.topics.create({ name: 'tin', partitions: 4, replicationFactor: 1, configs: {} });
    const coordId = await waitFor('a coordinator for the group', async () => {
      for (const [id, n] of cluster.nodes) if (n.broker.groups.ownership.owns(groupId)) return id;
      return undefined;
    });
    const otherId = coordId === 1 ? 2 : 1;
    const other = cluster.nodes.get(otherId)!.broker;
    await waitFor('topic known on the other node', async () => (other.topics.get('tin') ? true : undefined));

    // The other node's own coordinator cannot serve this group: that is why the wire is needed.
    const local = await new InProcessGroupTransport(other.groups).fetch(groupId, [{ name: 'tin', partitions: [0] }]);
    expect(local.errorCode).toBe(ErrorCode.NOT_COORDINATOR);

    const transport = new WireGroupTransport({ bootstrap: () => other.advertised, clientId: `floe-fn-node-${otherId}` });
    const assignments: Array<{ parts: TopicPartition[]; generation: number; memberId: string }> = [];
    const errors: Error[] = [];
    const member = new GroupMember(
      transport,
      { groupId, topics: ['tin'], clientId: `floe-fn-node-${otherId}`, partitionCount: (t) => other.topics.get(t)?.partitions, sessionTimeoutMs: 6000, heartbeatMs: 300 },
      {
        assigned: (parts, g) => assignments.push({ parts, generation: g.id, memberId: g.memberId }),
        revoke: async () => {},
        error: (err) => errors.push(err),
      },
    );
    try {
      member.start();
      await waitFor('the first assignment', async () => (assignments.length > 0 ? true : undefined));
      expect(assignments[0]!.parts.map((p) => p.partition).sort()).toEqual([0, 1, 2, 3]);
      expect(await member.commit([{ topic: 'tin', partition: 0, offset: 7, leaderEpoch: -1 }])).toBe(ErrorCode.NONE);
      expect(await member.committed('tin', 0)).toBe(7);
      // The coordinator (the lease holder) describes our member with the runtime's client id.
      const described = cluster.nodes.get(coordId)!.broker.groups.describe([groupId])[0]!;
      expect(described.members.map((m) => m.clientId)).toEqual([`floe-fn-node-${otherId}`]);

      // The coordinator goes away; its group lease moves to the remaining node.
      await cluster.stop(coordId);
      await waitFor('a new assignment from the new coordinator', async () => (assignments.length > 1 && other.groups.ownership.owns(groupId) ? true : undefined), 30_000);
      const last = assignments[assignments.length - 1]!;
      expect(last.parts.map((p) => p.partition).sort()).toEqual([0, 1, 2, 3]);
      // Offsets committed through the old coordinator are kept (PostgreSQL), and new commits work.
      expect(await member.committed('tin', 0)).toBe(7);
      expect(await member.commit([{ topic: 'tin', partition: 0, offset: 9, leaderEpoch: -1 }])).toBe(ErrorCode.NONE);
      expect(other.groups.fetchOffsets(groupId, [{ name: 'tin', partitions: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(9);
      expect(errors).toEqual([]);
    } finally {
      await member.stop();
      await transport.close();
    }
    // Leaving was sent to the new coordinator: the group is empty at once.
    expect(other.groups.describe([groupId])[0]!.members).toHaveLength(0);
  }, 120_000);
});
