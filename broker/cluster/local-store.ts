import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BrokerRecord, ControlStore, TopicRecord } from './control-store.js';
import { ControlStoreError } from './control-store.js';

interface LocalState {
  version: 1;
  clusterId: string;
  nextProducerId: number;
  topics: Record<string, TopicRecord>;
}

/** Writes `data` to `path` so that a crash leaves either the old or the new file, never a mix. */
export async function atomicWrite(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Single-node control store: one JSON document in <data>/control/state.json, rewritten atomically. */
export class LocalControlStore implements ControlStore {
  readonly kind = 'local' as const;
  private state!: LocalState;
  private readonly path: string;
  private brokers: BrokerRecord[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'control', 'state.json');
  }

  async open(): Promise<void> {
    await mkdir(join(this.dataDir, 'control'), { recursive: true });
    try {
      this.state = JSON.parse(await readFile(this.path, 'utf8')) as LocalState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.state = { version: 1, clusterId: randomBytes(16).toString('base64url'), nextProducerId: 1000, topics: {} };
      await this.persist();
    }
  }

  async close(): Promise<void> {
    await this.writing;
  }

  clusterId(): string {
    return this.state.clusterId;
  }

  async registerBroker(b: BrokerRecord): Promise<void> {
    this.brokers = [b];
  }

  async liveBrokers(): Promise<BrokerRecord[]> {
    return this.brokers;
  }

  listTopics(): TopicRecord[] {
    return Object.values(this.state.topics);
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.state.topics[name];
  }

  async createTopic(t: TopicRecord): Promise<void> {
    if (this.state.topics[t.name]) throw new ControlStoreError('TOPIC_ALREADY_EXISTS', `Topic '${t.name}' already exists.`);
    this.state.topics[t.name] = t;
    await this.persist();
  }

  async deleteTopic(name: string): Promise<void> {
    if (!this.state.topics[name]) throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    delete this.state.topics[name];
    await this.persist();
  }

  async updateTopic(name: string, patch: Partial<Pick<TopicRecord, 'partitions' | 'configs' | 'leaderEpochs'>>): Promise<TopicRecord> {
    const t = this.state.topics[name];
    if (!t) throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    Object.assign(t, patch);
    await this.persist();
    return t;
  }

  async allocateProducerIds(count: number): Promise<number> {
    const first = this.state.nextProducerId;
    this.state.nextProducerId += count;
    await this.persist();
    return first;
  }

  /** Serializes writes; each one persists the whole (small) document. */
  private persist(): Promise<void> {
    const snapshot = JSON.stringify(this.state, null, 1);
    this.writing = this.writing.then(() => atomicWrite(this.path, snapshot));
    return this.writing;
  }
}
