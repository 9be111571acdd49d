// Lets in-process users of the log (tables, HTTP, stream functions) append to and read any
// partition from any broker: locally when this broker leads it, otherwise a Produce to the
// leader over the Kafka wire for writes and the shared medium for reads.
//
// Forwarded appends are at-least-once: a Produce whose answer was lost (leader killed after the
// fsync, connection cut) is sent again and may land twice. Callers accept that: table changelog
// upserts are idempotent per key, stream-function outputs are at-least-once anyway.
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';
import { LogError } from '../log/index.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { LeaseLostError } from './lease-lost-error.js';
import { partitionLeaseKey } from './control-store.js';
import { openNode, KafkaClient, type NodeConnection } from '../client/kafka-client.js';
import { ConnectionError, KafkaError, RequestTimeoutError } from '../client/errors.js';
import { produceBatches } from '../client/produce-raw.js';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
}

/** What readers need; a local log or the shared-medium reader of a partition led elsewhere. */
export interface PartitionView {
  readonly highWatermark: number;
  readonly logStartOffset?: number;
  read(offset: number, maxBytes: number, opts?: { minOneBatch?: boolean }): Promise<Buffer>;
  onAdvance(listener: () => void): () => void;
}

export class RouterError extends Error {
  override readonly name = 'RouterError';
  constructor(
    readonly code: 'UNKNOWN_TOPIC_OR_PARTITION' | 'TIMEOUT' | 'CLOSED' | 'REJECTED',
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_DEADLINE_MS = 30_000;
const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Offsets a buffer of back-to-back v2 batches takes (sum of lastOffsetDelta + 1 over its whole batches). */
export function recordSlots(batches: Buffer): number {
  const c = new BatchCursor().reset(batches);
  let n = 0;
  while (c.next()) n += c.lastOffsetDelta + 1;
  return n;
}

export class PartitionRouter {
  /** Connections to other brokers by "host:port". */
  private readonly nodes = new Map<string, Promise<NodeConnection>>();
  private client: Promise<KafkaClient> | null = null;
  private closed = false;

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  /** True when this broker holds the partition's lease (always true on a single node). */
  leads(topic: string, partition: number): boolean {
    if (this.broker.cluster === null) return true;
    return this.broker.topics.partition(topic, partition) !== undefined;
  }

  /** True when this broker is one of a cluster. */
  get clustered(): boolean {
    return this.broker.cluster !== null;
  }

  /**
   * Appends record batches (v2 bytes) durably: locally when leading, else a Produce with acks=-1
   * to the current leader, retrying NOT_LEADER_OR_FOLLOWER and connection loss with a fresh
   * look at the leases and a backoff until deadlineMs (default 30 s).
   */
  async append(topic: string, partition: number, batches: Buffer, opts: { deadlineMs?: number } = {}): Promise<AppendResult> {
    const deadline = Date.now() + (opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
    const slots = recordSlots(batches);
    let backoff = MIN_BACKOFF_MS;
    let fresh = false;
    let last: Error | null = null;
    for (;;) {
      if (this.closed || this.broker.closing) throw new RouterError('CLOSED', `cannot append to ${topic}-${partition}: broker is closing`);
      const local = this.broker.topics.partition(topic, partition);
      if (local) {
        try {
          const r = await local.append(batches);
          return { baseOffset: r.baseOffset, lastOffset: r.lastOffset };
        } catch (err) {
          // The lease moved (or the log closed for a handover) while appending: the next
          // leader gets it. Anything else (a bad batch) is the caller's.
          const moved = err instanceof LeaseLostError || (err instanceof LogError && err.code === 'KAFKA_STORAGE_ERROR');
          if (!moved || this.broker.cluster === null) throw err;
          last = err as Error;
        }
      } else if (this.broker.cluster === null) {
        throw new RouterError('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${topic}-${partition} on this broker`);
      } else {
        try {
          const res = await this.forward(topic, partition, batches, fresh, deadline);
          if (res !== null) return { baseOffset: res, lastOffset: res + slots - 1 };
          last = new RouterError('UNKNOWN_TOPIC_OR_PARTITION', `no live leader for ${topic}-${partition}`);
        } catch (err) {
          if (err instanceof KafkaError && !err.retriable) throw err;
          if (!(err instanceof KafkaError || err instanceof ConnectionError || err instanceof RequestTimeoutError)) throw err;
          last = err;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new RouterError('TIMEOUT', `append to ${topic}-${partition} not acknowledged before the deadline: ${last?.message ?? 'no leader'}`);
      this.log.debug({ topic, partition, err: last }, 'routed append retrying');
      await sleep(Math.min(backoff, left));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      fresh = true;
    }
  }

  /** One Produce to the leader as known; the base offset, or null when no leader is known yet. */
  private async forward(topic: string, partition: number, batches: Buffer, fresh: boolean, deadline: number): Promise<number | null> {
    const target = await this.leaderAddress(topic, partition, fresh);
    if (target === null) return null;
    const addr = `${target.host}:${target.port}`;
    let node: NodeConnection;
    try {
      node = await this.node(target.host, target.port);
    } catch (err) {
      this.nodes.delete(addr);
      throw err;
    }
    try {
      const timeoutMs = Math.max(1_000, Math.min(deadline - Date.now(), DEFAULT_DEADLINE_MS));
      const r = await produceBatches(node, topic, partition, batches, { acks: -1, timeoutMs });
      return r.baseOffset;
    } catch (err) {
      if (err instanceof ConnectionError || err instanceof RequestTimeoutError) {
        node.conn.close();
        this.nodes.delete(addr);
      }
      throw err;
    }
  }

  /**
   * The leader's address. First the cluster manager's view (as of its last heartbeat); after a
   * failure straight from the control store, so a takeover is seen without waiting a heartbeat.
   */
  private async leaderAddress(topic: string, partition: number, fresh: boolean): Promise<{ host: string; port: number } | null> {
    const cluster = this.broker.cluster!;
    if (!this.broker.topics.get(topic)) await this.broker.store.refresh();
    if (!this.broker.topics.get(topic)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, `${topic}-${partition}`);
    let leaderId = cluster.leaderOf(topic, partition).leaderId;
    let brokers = cluster.liveBrokers();
    if (fresh || leaderId < 0) {
      const key = partitionLeaseKey(topic, partition);
      const [leases, live] = await Promise.all([this.broker.store.listLeases(key), this.broker.store.liveBrokers()]);
      const l = leases.find((x) => x.key === key);
      brokers = live;
      leaderId = l && l.valid && live.some((b) => b.nodeId === l.holder) ? l.holder : -1;
    }
    // Our own lease without an adopted log yet: the takeover is in progress.
    if (leaderId < 0 || leaderId === this.broker.nodeId) return null;
    const b = brokers.find((x) => x.nodeId === leaderId);
    return b ? { host: b.host, port: b.port } : null;
  }

  private node(host: string, port: number): Promise<NodeConnection> {
    const addr = `${host}:${port}`;
    const cached = this.nodes.get(addr);
    if (cached) {
      return cached.then((n) => {
        if (!n.conn.closed) return n;
        this.nodes.delete(addr);
        return this.node(host, port);
      });
    }
    const p = openNode(host, port, { clientId: `floe-router-${this.broker.nodeId}`, connectTimeoutMs: 5_000 });
    this.nodes.set(addr, p);
    p.catch(() => this.nodes.delete(addr));
    return p;
  }

  /** A readable view of any partition from this broker (local log or shared medium). */
  async view(topic: string, partition: number): Promise<PartitionView | undefined> {
    const local = this.broker.topics.partition(topic, partition);
    if (local) return local;
    if (this.broker.cluster === null) return undefined;
    if (!this.broker.topics.get(topic)) return undefined;
    return this.broker.cluster.readView(topic, partition);
  }

  /**
   * A Kafka client bootstrapped at this broker (group offsets and other requests that must reach
   * whichever broker coordinates them). Shared; closed with the router.
   */
  async kafkaClient(): Promise<KafkaClient> {
    if (this.closed) throw new RouterError('CLOSED', 'router is closed');
    const cur = this.client;
    if (cur) {
      const c = await cur.catch(() => null);
      // A dropped bootstrap connection is reopened.
      if (c && !c.bootstrap.conn.closed) return c;
      if (this.client === cur) this.client = null;
      void c?.close();
      return this.kafkaClient();
    }
    const { host, port } = this.broker.advertised;
    const p = KafkaClient.connect(`${host}:${port}`, { clientId: `floe-router-${this.broker.nodeId}`, connectTimeoutMs: 5_000 });
    this.client = p;
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = await Promise.allSettled([...this.nodes.values()]);
    for (const r of all) if (r.status === 'fulfilled') r.value.conn.close();
    this.nodes.clear();
    const c = this.client;
    this.client = null;
    if (c) await c.then((k) => k.close()).catch(() => undefined);
  }
}
