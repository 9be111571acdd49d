// `floe cluster info|brokers|partitions`: who leads what, with epochs and lease expiries, read
// straight from the cluster's PostgreSQL control store.
import { Command } from 'commander';
import { PostgresControlStore } from '../../../broker/cluster/postgres-store.js';
import { parsePartitionLeaseKey } from '../../../broker/cluster/control-store.js';
import { out, reportError, table } from './common.js';

interface ClusterOpts {
  control?: string;
  json?: boolean;
}

async function withStore(o: ClusterOpts, fn: (s: PostgresControlStore) => Promise<void>): Promise<void> {
  const url = o.control ?? process.env.FLOE_CONTROL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) {
    reportError('floe cluster needs --control postgres://... (or FLOE_CONTROL)');
    process.exitCode = 1;
    return;
  }
  const store = new PostgresControlStore({ url, maxConnections: 2 });
  try {
    await store.open();
    await fn(store);
  } catch (err) {
    reportError((err as Error).message);
    process.exitCode = 1;
  } finally {
    await store.close().catch(() => {});
  }
}

function expiry(ms: number, now: number): string {
  const left = ms - now;
  return left > 0 ? `in ${(left / 1000).toFixed(1)}s` : `expired ${(-left / 1000).toFixed(1)}s ago`;
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('Inspect a Floe cluster (PostgreSQL control store)');
  const common = (c: Command) => c.option('--control <url>', 'control store URL (default: $FLOE_CONTROL)').option('--json', 'machine-readable output');

  common(cluster.command('info').description('Cluster id, live brokers, partition and group lease counts')).action((o: ClusterOpts) =>
    withStore(o, async (s) => {
      const [brokers, leases] = await Promise.all([s.liveBrokers(), s.listLeases()]);
      const parts = leases.filter((l) => l.key.startsWith('p/'));
      const info = {
        clusterId: s.clusterId(),
        liveBrokers: brokers.map((b) => b.nodeId),
        topics: s.listTopics().length,
        partitions: parts.length,
        partitionsWithoutLeader: parts.filter((l) => !l.valid).length,
        groupLeases: leases.filter((l) => l.key.startsWith('g/') && l.valid).length,
      };
      if (o.json) out(JSON.stringify(info) + '\n');
      else out(table(['CLUSTER', 'LIVE BROKERS', 'TOPICS', 'PARTITIONS', 'LEADERLESS', 'GROUPS'], [[info.clusterId, info.liveBrokers.join(',') || '-', info.topics, info.partitions, info.partitionsWithoutLeader, info.groupLeases]]));
    }),
  );

  common(cluster.command('brokers').description('Live brokers and how many leases each holds')).action((o: ClusterOpts) =>
    withStore(o, async (s) => {
      const [brokers, leases, now] = await Promise.all([s.liveBrokers(), s.listLeases(), s.now()]);
      const rows = brokers.map((b) => {
        const held = leases.filter((l) => l.valid && l.holder === b.nodeId);
        return { nodeId: b.nodeId, host: b.host, port: b.port, partitions: held.filter((l) => l.key.startsWith('p/')).length, groups: held.filter((l) => l.key.startsWith('g/')).length };
      });
      if (o.json) out(JSON.stringify({ now, brokers: rows }) + '\n');
      else out(table(['NODE', 'HOST', 'PORT', 'PARTITIONS', 'GROUPS'], rows.map((r) => [r.nodeId, r.host, r.port, r.partitions, r.groups])));
    }),
  );

  common(cluster.command('partitions').description('Leader, epoch, high watermark and lease expiry of every partition')).action((o: ClusterOpts) =>
    withStore(o, async (s) => {
      const [leases, now] = await Promise.all([s.listLeases('p/'), s.now()]);
      const rows = leases.map((l) => ({ ...parsePartitionLeaseKey(l.key)!, leader: l.valid ? l.holder : -1, lastHolder: l.holder, epoch: l.epoch, highWatermark: l.highWatermark, epochStart: l.epochStartOffset, expiresAt: l.expiresAt }));
      if (o.json) out(JSON.stringify({ now, partitions: rows }) + '\n');
      else out(table(['TOPIC', 'PARTITION', 'LEADER', 'EPOCH', 'EPOCH-START', 'HIGH-WATERMARK', 'LEASE'], rows.map((r) => [r.topic, r.partition, r.leader, r.epoch, r.epochStart, r.highWatermark, expiry(r.expiresAt, now)])));
    }),
  );
}
