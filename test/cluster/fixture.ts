// In-process cluster: N Floe nodes on one shared data dir and one PostgreSQL database.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { defaultBrokerConfig } from '../../broker/config/broker-config.js';
import { startNode, type FloeNode } from '../../api/node.js';
import { openNode, type NodeConnection } from '../../broker/client/kafka-client.js';
import { Metadata, Produce } from '../../broker/client/apis.js';
import { valuesBatch } from '../log/batch-builder.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface InProcessCluster {
  dataDir: string;
  nodes: Map<number, FloeNode>;
  start(nodeId: number): Promise<FloeNode>;
  stop(nodeId: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(url: string, nodeIds: number[], timing: { leaseTtlMs: number; heartbeatMs: number } = { leaseTtlMs: 4000, heartbeatMs: 300 }): Promise<InProcessCluster> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'floe-cluster-'));
  const nodes = new Map<number, FloeNode>();
  const log = pino({ level: process.env.FLOE_TEST_LOG ?? 'silent' });
  const c: InProcessCluster = {
    dataDir,
    nodes,
    async start(nodeId) {
      const config = defaultBrokerConfig({ dataDir, control: url, nodeId, kafkaHost: '127.0.0.1', kafkaPort: 0, httpHost: '127.0.0.1', httpPort: 0, groupInitialRebalanceDelayMs: 0, ...timing });
      const n = await startNode(config, log.child({ node: nodeId }));
      nodes.set(nodeId, n);
      return n;
    },
    async stop(nodeId) {
      await nodes.get(nodeId)?.close();
      nodes.delete(nodeId);
    },
    async close() {
      for (const id of [...nodes.keys()]) await c.stop(id);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  for (const id of nodeIds) await c.start(id);
  return c;
}

export async function connect(n: FloeNode): Promise<NodeConnection> {
  return openNode('127.0.0.1', n.kafka.port);
}

export async function partitionLeaders(conn: NodeConnection, topic: string): Promise<Array<{ partition: number; leader: number; epoch: number; replicas: number[]; error: number }>> {
  const md = await conn.send(Metadata, { topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  const t = md.topics.find((x) => x.name === topic);
  return (t?.partitions ?? []).map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, epoch: p.leaderEpoch, replicas: p.replicaNodes, error: p.errorCode })).sort((a, b) => a.partition - b.partition);
}

/** Produces one batch of `n` values with acks=all to exactly this connection's broker. */
export async function produceTo(conn: NodeConnection, topic: string, partition: number, n: number, prefix = 'v'): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await conn.send(Produce, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: valuesBatch(n, prefix) }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

/** Polls until `check` returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(100);
  }
}
