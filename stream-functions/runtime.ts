// The node's function runtime: the registry of deployments and the instances running them.
// Every node runs every deployed function; the consumer group spreads partitions over nodes.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import { PostgresControlStore } from '../broker/cluster/postgres-store.js';
import { ArtifactStore } from './artifacts.js';
import { InProcessGroupTransport } from '../broker/client/group/transport.js';
import { groupView, type GroupView } from './group-view.js';
import { partitionAccess } from './partition-access.js';
import { PostgresFunctionRegistry } from './pg-registry.js';
import { WireGroupTransport } from '../broker/client/group/wire-transport.js';
import { FunctionInstance, type InstanceHost, type TableProvider } from './function-instance.js';
import { LogBuffer, type LogLine } from './log-buffer.js';
import { FileFunctionRegistry, type FunctionRegistry } from './registry.js';
import {
  BUILTINS,
  DEFAULT_LIMITS,
  FunctionError,
  dlqTopicOf,
  formatFromOffset,
  groupIdOf,
  parseFromOffset,
  validateFunctionName,
  type BuiltinName,
  type FunctionRecord,
  type Limits,
  type VersionSpec,
} from './spec.js';
import type { PartitionStatus } from './stats.js';

export interface DeployRequest {
  name: string;
  /** A built-in's name, or bundled ESM code. */
  builtin?: string;
  code?: Buffer;
  inputs: string[];
  outputs?: string[];
  table?: string | null;
  vars?: Record<string, string>;
  fromOffset?: string;
  parallelism?: number;
  limits?: Partial<Limits>;
}

export interface FunctionSummary {
  name: string;
  version: number;
  versions: number[];
  paused: boolean;
  state: string;
  kind: string;
  inputs: string[];
  outputs: string[];
  table: string | null;
  parallelism: number;
  fromOffset: string;
  createdAt: number;
}

export interface FunctionStatus extends FunctionSummary {
  failure: string | null;
  groupId: string;
  dlqTopic: string;
  node: number;
  partitions: PartitionStatus[];
  totals: { processed: number; errors: number; deadLettered: number; lag: number; throughput: number };
  counters: Record<string, number>;
  gauges: Record<string, number>;
  vars: Record<string, string>;
}

/** Status plus the whole group: every broker's member, its partitions and their lag. */
export interface ClusterFunctionStatus extends FunctionStatus {
  group: GroupView;
}

export interface RuntimeOptions {
  broker: Broker;
  tables: TableProvider;
  log: Logger;
  /** Default <data>/functions. */
  dir?: string;
  registry?: FunctionRegistry;
  /** Distinguishes several runtimes on one node (tests). */
  clientId?: string;
  /** How often the registry is re-read for deploys made on other nodes (ms; 0 = never; default 1 s in a cluster, 5 s alone). */
  refreshMs?: number;
  heartbeatMs?: number;
  sessionTimeoutMs?: number;
}

const runtimes = new WeakMap<Broker, FunctionRuntime>();

/** The runtime a node started for this broker (the HTTP routes find it this way). */
export function runtimeFor(broker: Broker): FunctionRuntime | undefined {
  return runtimes.get(broker);
}

export class FunctionRuntime {
  readonly registry: FunctionRegistry;
  readonly artifacts: ArtifactStore;
  private readonly instances = new Map<string, FunctionInstance>();
  private readonly logBuffers = new Map<string, LogBuffer>();
  private lock: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly host: InstanceHost;
  private readonly clustered: boolean;

  constructor(private readonly opts: RuntimeOptions) {
    const dir = opts.dir ?? join(opts.broker.config.dataDir, 'functions');
    const store = opts.broker.store;
    this.clustered = store instanceof PostgresControlStore;
    this.registry = opts.registry ?? (store instanceof PostgresControlStore ? new PostgresFunctionRegistry(store.pool) : new FileFunctionRegistry(dir));
    this.artifacts = new ArtifactStore(dir);
    const clientId = opts.clientId ?? `floe-fn-node-${opts.broker.nodeId}`;
    const partitions = partitionAccess(opts.broker);
    this.host = {
      broker: opts.broker,
      tables: opts.tables,
      log: opts.log.child({ component: 'functions' }),
      clientId,
      artifactPath: (name, file) => this.artifacts.pathOf(name, file),
      partitions,
      // In a cluster the coordinator is whichever broker holds the group's lease.
      groupTransport: () => (this.clustered ? new WireGroupTransport({ bootstrap: () => opts.broker.advertised, clientId }) : new InProcessGroupTransport(opts.broker.groups)),
      ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}),
    };
  }

  /** Opens the registry and starts every deployed, unpaused function. */
  async start(opts: { register?: boolean; wait?: boolean } = {}): Promise<void> {
    await this.registry.open();
    if (opts.register !== false) runtimes.set(this.opts.broker, this);
    // Not awaited: a function with a slow (or hanging) init must not hold up the node's start.
    const first = this.exclusive(() => this.reconcile());
    first.catch((err: Error) => this.host.log.error({ err }, 'starting deployed functions failed'));
    if (opts.wait === true) await first;
    const every = this.opts.refreshMs ?? (this.clustered ? 1_000 : 5_000);
    if (every > 0) {
      this.timer = setInterval(() => {
        void this.exclusive(async () => {
          await this.registry.refresh();
          await this.reconcile();
        }).catch((err: Error) => this.host.log.warn({ err }, 'function registry refresh failed'));
      }, every);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.exclusive(async () => {
      await Promise.all([...this.instances.values()].map((i) => i.stop().catch(() => undefined)));
      this.instances.clear();
    });
    await this.registry.close().catch(() => undefined);
    if (runtimes.get(this.opts.broker) === this) runtimes.delete(this.opts.broker);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private logsOf(name: string): LogBuffer {
    let b = this.logBuffers.get(name);
    if (!b) {
      b = new LogBuffer();
      this.logBuffers.set(name, b);
    }
    return b;
  }

  /** Brings running instances in line with the registry. Call under the lock. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const desired = new Map(this.registry.list().map((r) => [r.name, r]));
    for (const [name, inst] of this.instances) {
      const want = desired.get(name);
      if (!want || want.paused || want.active !== inst.spec.version) {
        this.instances.delete(name);
        await inst.stop();
      }
    }
    for (const rec of desired.values()) {
      if (rec.paused || this.instances.has(rec.name)) continue;
      const inst = new FunctionInstance(this.host, rec, this.logsOf(rec.name));
      this.instances.set(rec.name, inst);
      await inst.start();
    }
  }

  private require(name: string): FunctionRecord {
    const r = this.registry.get(name);
    if (!r) throw new FunctionError(404, 'FUNCTION_NOT_FOUND', `function ${name} does not exist`);
    return r;
  }

  deploy(req: DeployRequest): Promise<FunctionStatus> {
    return this.exclusive(async () => {
      validateFunctionName(req.name);
      // Another broker may have deployed a version since the last poll.
      await this.registry.refresh();
      const spec = await this.buildVersion(req);
      const prev = this.registry.get(req.name);
      // Load the new version (startup limit, table, topics) before the old one stops.
      const record: FunctionRecord = { name: req.name, active: spec.version, paused: prev?.paused ?? false, versions: [...(prev?.versions ?? []), spec] };
      const candidate = new FunctionInstance(this.host, record, this.logsOf(req.name));
      if (!(await candidate.prepare())) {
        await candidate.stop();
        if (spec.artifact.kind === 'bundle') await this.artifacts.remove(req.name, spec.artifact.file);
        throw new FunctionError(422, 'STARTUP_FAILED', `function ${req.name} v${spec.version} did not start: ${candidate.failure}`);
      }
      const old = this.instances.get(req.name);
      if (old) {
        this.instances.delete(req.name);
        await old.stop();
      }
      await this.registry.put(record);
      if (record.paused) await candidate.stop();
      else {
        this.instances.set(req.name, candidate);
        candidate.join();
      }
      return this.statusOf(record);
    });
  }

  private async buildVersion(req: DeployRequest): Promise<VersionSpec> {
    if (!Array.isArray(req.inputs) || req.inputs.length === 0) throw new FunctionError(400, 'INVALID_SPEC', 'at least one input topic (-i) is required');
    const prev = this.registry.get(req.name);
    const version = Math.max(0, ...(prev?.versions.map((v) => v.version) ?? [])) + 1;
    let artifact: VersionSpec['artifact'];
    if (req.builtin !== undefined) {
      if (!(BUILTINS as readonly string[]).includes(req.builtin)) throw new FunctionError(400, 'UNKNOWN_BUILTIN', `no built-in function "${req.builtin}" (built-ins: ${BUILTINS.join(', ')})`);
      artifact = { kind: 'builtin', name: req.builtin as BuiltinName };
    } else if (req.code !== undefined && req.code.length > 0) {
      artifact = { kind: 'bundle', ...(await this.artifacts.save(req.name, version, req.code)) };
    } else {
      throw new FunctionError(400, 'INVALID_SPEC', 'give either a built-in name or bundled code');
    }
    const parallelism = req.parallelism ?? 1;
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) throw new FunctionError(400, 'INVALID_SPEC', 'parallelism must be an integer in 1..64');
    const limits: Limits = { ...DEFAULT_LIMITS };
    for (const [k, v] of Object.entries(req.limits ?? {})) {
      if (!(k in DEFAULT_LIMITS)) throw new FunctionError(400, 'INVALID_SPEC', `unknown limit ${k}`);
      if (typeof v !== 'number' || !Number.isFinite(v) || v < (k === 'backoffMs' ? 0 : 1)) throw new FunctionError(400, 'INVALID_SPEC', `limit ${k} must be a positive number`);
      limits[k as keyof Limits] = v;
    }
    return {
      version,
      artifact,
      inputs: [...new Set(req.inputs)],
      outputs: [...new Set(req.outputs ?? [])],
      table: req.table ?? null,
      vars: { ...(req.vars ?? {}) },
      fromOffset: parseFromOffset(req.fromOffset ?? 'earliest'),
      parallelism,
      limits,
      createdAt: Date.now(),
    };
  }

  list(): FunctionSummary[] {
    return this.registry.list().map((r) => this.summaryOf(r));
  }

  status(name: string): FunctionStatus {
    return this.statusOf(this.require(name));
  }

  /** This broker's status plus every member of the function's group (any broker). */
  async clusterStatus(name: string): Promise<ClusterFunctionStatus> {
    const local = this.status(name);
    return { ...local, group: await groupView(this.opts.broker, this.host.partitions, groupIdOf(name)) };
  }

  logs(name: string, after = 0, limit = 500): { lines: LogLine[]; last: number } {
    this.require(name);
    const b = this.logsOf(name);
    return { lines: b.since(after, limit), last: b.last };
  }

  pause(name: string): Promise<FunctionStatus> {
    return this.mutate(name, (r) => {
      r.paused = true;
    });
  }

  resume(name: string): Promise<FunctionStatus> {
    return this.mutate(name, (r) => {
      r.paused = false;
    });
  }

  rollback(name: string, version: number): Promise<FunctionStatus> {
    return this.mutate(name, (r) => {
      if (!r.versions.some((v) => v.version === version)) throw new FunctionError(404, 'VERSION_NOT_FOUND', `function ${name} has no version ${version} (versions: ${r.versions.map((v) => v.version).join(', ')})`);
      r.active = version;
    });
  }

  remove(name: string): Promise<void> {
    return this.exclusive(async () => {
      await this.registry.refresh();
      this.require(name);
      await this.registry.remove(name);
      await this.reconcile();
      await this.artifacts.removeAll(name);
      this.logBuffers.delete(name);
    });
  }

  private mutate(name: string, change: (r: FunctionRecord) => void): Promise<FunctionStatus> {
    return this.exclusive(async () => {
      await this.registry.refresh();
      const r = this.require(name);
      change(r);
      await this.registry.put(r);
      await this.reconcile();
      return this.statusOf(r);
    });
  }

  private summaryOf(r: FunctionRecord): FunctionSummary {
    const v = r.versions.find((x) => x.version === r.active)!;
    const inst = this.instances.get(r.name);
    return {
      name: r.name,
      version: r.active,
      versions: r.versions.map((x) => x.version),
      paused: r.paused,
      state: r.paused ? 'paused' : inst ? inst.state : 'stopped',
      kind: v.artifact.kind === 'builtin' ? `builtin:${v.artifact.name}` : 'bundle',
      inputs: v.inputs,
      outputs: v.outputs,
      table: v.table,
      parallelism: v.parallelism,
      fromOffset: formatFromOffset(v.fromOffset),
      createdAt: v.createdAt,
    };
  }

  private statusOf(r: FunctionRecord): FunctionStatus {
    const inst = this.instances.get(r.name);
    const partitions = inst?.status() ?? [];
    const v = r.versions.find((x) => x.version === r.active)!;
    return {
      ...this.summaryOf(r),
      failure: inst?.failure ?? null,
      groupId: groupIdOf(r.name),
      dlqTopic: dlqTopicOf(r.name),
      node: this.opts.broker.nodeId,
      partitions,
      totals: {
        processed: partitions.reduce((s, p) => s + p.processed, 0),
        errors: partitions.reduce((s, p) => s + p.errors, 0),
        deadLettered: partitions.reduce((s, p) => s + p.deadLettered, 0),
        lag: partitions.reduce((s, p) => s + p.lag, 0),
        throughput: Math.round(partitions.reduce((s, p) => s + p.throughput, 0) * 10) / 10,
      },
      counters: { ...(inst?.counters ?? {}) },
      gauges: { ...(inst?.gauges ?? {}) },
      vars: v.vars,
    };
  }

  /** For tests and benchmarks: the instance running a function on this runtime. */
  instance(name: string): FunctionInstance | undefined {
    return this.instances.get(name);
  }
}
