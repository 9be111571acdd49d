// A small Kafka client on Floe's generated codecs: bootstrap, ApiVersions negotiation per
// connection, metadata, and a connection per broker node.
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Reader } from '../protocol/primitives/reader.js';
import { readApiVersionsResponse, writeApiVersionsRequest, type ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { API_INFO } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import { Metadata, type Api } from './apis.js';
import { BrokerConnection, type RequestOptions } from './connection.js';
import { ConnectionError, KafkaError, UnsupportedApiError, UsageError } from './errors.js';
import { negotiate } from './versions.js';

const API_VERSIONS = 18;
const API_VERSIONS_MAX = API_INFO[API_VERSIONS]!.maxVersion;

export interface ClientOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface PartitionInfo {
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  errorCode: number;
  partitions: PartitionInfo[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: Map<number, { host: string; port: number }>;
  topics: Map<string, TopicInfo>;
}

/** A negotiated connection: the socket plus the version chosen for each API. */
export class NodeConnection {
  constructor(
    readonly conn: BrokerConnection,
    readonly versions: Map<number, number>,
  ) {}

  version(api: Api<unknown, unknown>): number {
    const v = this.versions.get(api.key);
    if (v === undefined) {
      throw new UnsupportedApiError(`broker ${this.conn.address} does not support ${api.name} (API key ${api.key}) in any version this client speaks`);
    }
    return v;
  }

  supports(api: Api<unknown, unknown>): boolean {
    return this.versions.has(api.key);
  }

  send<Req, Res>(api: Api<Req, Res>, body: Input<Req>, ro?: RequestOptions): Promise<Res> {
    const v = this.version(api as Api<unknown, unknown>);
    return this.conn.send(api.key, v, (w) => api.write(w, v, body), api.read, ro);
  }
}

/** Parses "host:port" (IPv6 as "[::1]:9092"); the port defaults to 9092. */
export function parseHostPort(s: string): { host: string; port: number } {
  const trimmed = s.trim();
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed) ?? /^([^:]+)(?::(\d+))?$/.exec(trimmed);
  if (!m || !m[1]) throw new UsageError(`invalid broker address "${s}": expected host:port`);
  const port = m[2] === undefined ? 9092 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid broker address "${s}": bad port`);
  return { host: m[1], port };
}

/** Reads an ApiVersions response; a broker that refuses our version answers in v0 format. */
function readApiVersions(r: Reader, v: number): ApiVersionsResponse {
  const errorCode = r.buf.readInt16BE(r.pos);
  return readApiVersionsResponse(r, errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : v);
}

export async function openNode(host: string, port: number, opts: ClientOptions = {}): Promise<NodeConnection> {
  const conn = await BrokerConnection.open({ host, port, ...opts });
  try {
    let version = API_VERSIONS_MAX;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await conn.send(
        API_VERSIONS,
        version,
        (w) => writeApiVersionsRequest(w, version, { clientSoftwareName: 'floe-cli', clientSoftwareVersion: '0.1.0' }),
        readApiVersions,
      );
      if (res.errorCode === ErrorCode.NONE) return new NodeConnection(conn, negotiate(res.apiKeys));
      const mine = res.apiKeys.find((a) => a.apiKey === API_VERSIONS);
      if (res.errorCode !== ErrorCode.UNSUPPORTED_VERSION || !mine) throw new KafkaError(res.errorCode, null, `ApiVersions from ${host}:${port}`);
      version = Math.min(mine.maxVersion, API_VERSIONS_MAX);
    }
    throw new UnsupportedApiError(`broker ${host}:${port} and this client share no ApiVersions version`);
  } catch (err) {
    conn.close();
    throw err;
  }
}

export class KafkaClient {
  private readonly nodes = new Map<string, Promise<NodeConnection>>();
  private meta: ClusterMetadata | null = null;

  private constructor(
    readonly bootstrap: NodeConnection,
    readonly bootstrapAddress: string,
    private readonly opts: ClientOptions,
  ) {
    this.nodes.set(bootstrapAddress, Promise.resolve(bootstrap));
  }

  /** Connects to the first reachable of a comma-separated list of bootstrap brokers. */
  static async connect(brokers: string, opts: ClientOptions = {}): Promise<KafkaClient> {
    const addrs = brokers.split(',').filter((s) => s.trim().length > 0).map(parseHostPort);
    if (addrs.length === 0) throw new UsageError('no broker address given');
    let last: Error | null = null;
    for (const a of addrs) {
      try {
        const node = await openNode(a.host, a.port, opts);
        return new KafkaClient(node, `${a.host}:${a.port}`, opts);
      } catch (err) {
        last = err as Error;
        if (!(err instanceof ConnectionError)) throw err;
      }
    }
    throw last ?? new ConnectionError('no broker reachable');
  }

  get cachedMetadata(): ClusterMetadata | null {
    return this.meta;
  }

  /** Fetches metadata for the given topics (null = all) and caches what it learnt. */
  async metadata(topics: string[] | null): Promise<ClusterMetadata> {
    const res: MetadataResponse = await this.bootstrap.send(Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: false,
    });
    const brokers = new Map(res.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    const out: ClusterMetadata = { clusterId: res.clusterId, controllerId: res.controllerId, brokers, topics: new Map() };
    for (const t of res.topics) {
      if (t.name === null) continue;
      out.topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        errorCode: t.errorCode,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionIndex, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    if (this.meta === null || topics === null) this.meta = out;
    else {
      this.meta.brokers = brokers;
      this.meta.controllerId = res.controllerId;
      for (const [k, v] of out.topics) this.meta.topics.set(k, v);
    }
    return out;
  }

  /** Metadata for one topic; throws a UsageError naming the topic if it does not exist. */
  async topic(name: string): Promise<TopicInfo> {
    const md = await this.metadata([name]);
    const t = md.topics.get(name);
    if (!t || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new UsageError(`unknown topic "${name}"`);
    if (t.errorCode !== ErrorCode.NONE) throw new KafkaError(t.errorCode, null, `topic "${name}"`);
    return t;
  }

  /** The connection to a broker node, opened on first use; unknown or -1 nodes map to bootstrap. */
  async node(nodeId: number): Promise<NodeConnection> {
    const b = this.meta?.brokers.get(nodeId);
    if (!b) return this.bootstrap;
    const addr = `${b.host}:${b.port}`;
    let p = this.nodes.get(addr);
    if (p) {
      const n = await p.catch(() => null);
      if (n && !n.conn.closed) return n;
    }
    p = openNode(b.host, b.port, this.opts);
    this.nodes.set(addr, p);
    p.catch(() => this.nodes.delete(addr));
    return p;
  }

  /** Where admin requests go: the controller when metadata names one, else bootstrap. */
  async controller(): Promise<NodeConnection> {
    const md = this.meta ?? (await this.metadata([]));
    return md.controllerId >= 0 ? this.node(md.controllerId) : this.bootstrap;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.nodes.values()]);
    for (const r of all) if (r.status === 'fulfilled') r.value.conn.close();
    this.nodes.clear();
  }
}
