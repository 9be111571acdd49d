// A minimal cluster-aware wire client for fault tests: it learns partition leaders from Metadata
// (asking any broker that answers), keeps one reconnecting connection per broker, and lets callers
// refresh after NOT_LEADER_OR_FOLLOWER or a timeout, as a real client does.
import type { BrokerConnection } from '../../broker/client/connection.js';
import { Metadata } from '../../broker/client/apis.js';
import { connect, request, sleep } from '../robustness/wire.js';

export interface NodeAddress {
  nodeId: number;
  port: number;
}

export class ClusterRouter {
  private readonly conns = new Map<number, Promise<BrokerConnection> | BrokerConnection>();
  private leaders = new Map<number, { leader: number; epoch: number }>();
  private refreshing: Promise<void> | null = null;
  refreshes = 0;

  constructor(
    private readonly nodes: () => NodeAddress[],
    readonly topic: string,
    private readonly requestTimeoutMs = 3_000,
  ) {}

  /** Connection to one broker, reopened when the previous one closed. */
  async conn(nodeId: number): Promise<BrokerConnection> {
    const cur = this.conns.get(nodeId);
    if (cur !== undefined && !(cur instanceof Promise) && !cur.closed) return cur;
    if (cur instanceof Promise) return cur;
    const addr = this.nodes().find((n) => n.nodeId === nodeId);
    if (!addr) throw new Error(`unknown node ${nodeId}`);
    const p = connect(addr.port, `jepsen-${nodeId}`).then(
      (c) => {
        this.conns.set(nodeId, c);
        return c;
      },
      (err: unknown) => {
        this.conns.delete(nodeId);
        throw err;
      },
    );
    this.conns.set(nodeId, p);
    return p;
  }

  /** Drops a connection that timed out (its broker may be paused) so the next use reconnects. */
  drop(nodeId: number): void {
    const cur = this.conns.get(nodeId);
    this.conns.delete(nodeId);
    if (cur !== undefined && !(cur instanceof Promise)) cur.close();
  }

  leaderOf(partition: number): { leader: number; epoch: number } | undefined {
    const l = this.leaders.get(partition);
    return l && l.leader >= 0 ? l : undefined;
  }

  /** Re-reads leaders from the first broker that answers; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    this.refreshes++;
    const ids = this.nodes()
      .map((n) => n.nodeId)
      .sort(() => Math.random() - 0.5);
    for (const id of ids) {
      try {
        const c = await this.conn(id);
        const md = await request(c, Metadata, 12, { topics: [{ name: this.topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, this.requestTimeoutMs);
        const t = md.topics.find((x) => x.name === this.topic);
        if (!t || t.errorCode !== 0) continue;
        this.leaders = new Map(t.partitions.map((p) => [p.partitionIndex, { leader: p.leaderId, epoch: p.leaderEpoch }]));
        return;
      } catch {
        this.drop(id);
      }
    }
    await sleep(100);
  }

  close(): void {
    for (const id of [...this.conns.keys()]) this.drop(id);
  }
}
