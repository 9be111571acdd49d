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

export interface ControlStore {
  readonly kind: 'local' | 'postgres';
  open(): Promise<void>;
  close(): Promise<void>;
  clusterId(): string;
  /** Registers (or refreshes) this broker. */
  registerBroker(b: BrokerRecord): Promise<void>;
  liveBrokers(): Promise<BrokerRecord[]>;
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
