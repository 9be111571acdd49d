// The control store holds the small, transactional state of a Floe deployment. `local` keeps it
// in the data dir for a single node; `postgres` (cluster issue) shares it between brokers.

export interface TopicRecord {
  name: string;
  /** Kafka topic id, base64url of 16 bytes (as Kafka prints it). */
  topicId: string;
  partitions: number;
  /** Topic-level config overrides (Kafka names, string values). */
  configs: Record<string, string>;
  createdAt: number;
  /** Partition leader epochs, index = partition. */
  leaderEpochs: number[];
}

export interface BrokerRecord {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** What a lease guards: one partition's log, or one consumer group's coordination. */
export type LeaseKey = string;

export function partitionLeaseKey(topic: string, partition: number): LeaseKey {
  return `p/${topic}/${partition}`;
}

export function groupLeaseKey(groupId: string): LeaseKey {
  return `g/${groupId}`;
}

/** Parses a partition lease key; null for group keys. */
export function parsePartitionLeaseKey(key: LeaseKey): { topic: string; partition: number } | null {
  if (!key.startsWith('p/')) return null;
  const i = key.lastIndexOf('/');
  return { topic: key.slice(2, i), partition: Number(key.slice(i + 1)) };
}

export interface LeaseRecord {
  key: LeaseKey;
  /** Node id of the holder (the last one, when expired). */
  holder: number;
  /** Increases on every change of holder; a partition lease's epoch is its Kafka leader epoch. */
  epoch: number;
  /** Expiry in ms since 1970 by the store's clock. */
  expiresAt: number;
  /** Unexpired when read, by the store's clock. */
  valid: boolean;
  /** Partition leases: the published high watermark of this epoch (0 for groups). */
  highWatermark: number;
  /** Partition leases: first offset of this epoch = where the previous epoch was sealed. */
  epochStartOffset: number;
}

/** One epoch of a partition in the segment manifest; endOffset null while it is the open epoch. */
export interface ManifestEpoch {
  epoch: number;
  holder: number;
  startOffset: number;
  endOffset: number | null;
}

export interface ControlStore {
  readonly kind: 'local' | 'postgres';
  open(): Promise<void>;
  close(): Promise<void>;
  clusterId(): string;
  /** Registers (or refreshes) this broker; it counts as live for `ttlMs` (default: forever). */
  registerBroker(b: BrokerRecord, ttlMs?: number): Promise<void>;
  /** Graceful leave: the broker stops counting as live at once. */
  deregisterBroker(nodeId: number): Promise<void>;
  liveBrokers(): Promise<BrokerRecord[]>;
  /** The store's clock, ms since 1970: the clock leases expire by. */
  now(): Promise<number>;
  /**
   * Takes `key` for `holder` if it is free, expired or already held by `holder`; null if another
   * holder's lease is still valid. A change of holder, or taking back an expired lease, bumps the
   * epoch; a partition lease then seals the old epoch at its published high watermark.
   */
  acquireLease(key: LeaseKey, holder: number, ttlMs: number): Promise<LeaseRecord | null>;
  /**
   * Extends every still-valid lease of `holder` (and its broker registration) by `ttlMs`; returns
   * the leases it still holds. A lease missing from the answer is lost.
   */
  renewLeases(holder: number, ttlMs: number): Promise<LeaseRecord[]>;
  /** Hands a lease back so another broker can take it at once (no-op unless held at `epoch`). */
  releaseLease(key: LeaseKey, holder: number, epoch: number): Promise<void>;
  /** Every lease whose key starts with `prefix` (default: all). */
  listLeases(prefix?: string): Promise<LeaseRecord[]>;
  /**
   * Publishes a partition's high watermark. Resolves false (and publishes nothing) unless `holder`
   * holds the lease at `epoch` and it is unexpired by the store's clock: the writer's fencing check.
   */
  publishHighWatermark(key: LeaseKey, holder: number, epoch: number, highWatermark: number): Promise<boolean>;
  /**
   * Whether `holder` still holds `key` at `epoch`, unexpired by the store's clock: checked before
   * a partition writer rewrites shared metadata or deletes segments (cluster stores only).
   */
  holdsLease?(key: LeaseKey, holder: number, epoch: number): Promise<boolean>;
  /** The partition's epochs, oldest first. */
  manifest(key: LeaseKey): Promise<ManifestEpoch[]>;
  /**
   * Calls `fn` for every high watermark published from now on, by any broker (cluster stores
   * only). Resolves to an unsubscribe function.
   */
  watchHighWatermarks?(fn: (key: LeaseKey, epoch: number, highWatermark: number) => void, onError?: (err: unknown) => void): Promise<() => Promise<void>>;
  /** Reloads the topic cache from the store (other brokers may have changed topics). */
  refresh(): Promise<void>;
  listTopics(): TopicRecord[];
  getTopic(name: string): TopicRecord | undefined;
  /** Throws ControlStoreError('TOPIC_ALREADY_EXISTS') if present. */
  createTopic(t: TopicRecord): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  updateTopic(name: string, patch: Partial<Pick<TopicRecord, 'partitions' | 'configs' | 'leaderEpochs'>>): Promise<TopicRecord>;
  /** Reserves `count` producer ids and returns the first. Never hands out an id twice. */
  allocateProducerIds(count: number): Promise<number>;
}

export class ControlStoreError extends Error {
  constructor(
    readonly code: 'TOPIC_ALREADY_EXISTS' | 'UNKNOWN_TOPIC_OR_PARTITION' | 'STORE_ERROR',
    message: string,
  ) {
    super(message);
    this.name = 'ControlStoreError';
  }
}
