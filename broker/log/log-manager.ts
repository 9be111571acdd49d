import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';
import type { LogConfig } from './config.js';
import { FsyncScheduler } from './fsync-scheduler.js';
import { silentLogger, type Logger } from './logger.js';
import { PartitionLog } from './partition-log.js';

/** '~' cannot appear in a Kafka topic name, so a deleted directory never looks like a topic. */
const DELETED_MARK = '~';

/** All partition logs under `<dataDir>/topics/<topic>/<partition>/`. */
export class LogManager {
  readonly dataDir: string;
  readonly syncer: FsyncScheduler;
  private readonly logger: Logger;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly opening = new Map<string, Promise<PartitionLog>>();
  private readonly removals = new Set<Promise<void>>();

  constructor(opts: { dataDir: string; syncer?: FsyncScheduler; logger?: Logger }) {
    this.dataDir = opts.dataDir;
    this.syncer = opts.syncer ?? new FsyncScheduler();
    this.logger = opts.logger ?? silentLogger;
  }

  get topicsDir(): string {
    return join(this.dataDir, 'topics');
  }

  partitionDir(topic: string, partition: number): string {
    return join(this.topicsDir, topic, String(partition));
  }

  /** Opens (creating if needed) one partition log; concurrent calls share one open. */
  open(topic: string, partition: number, config: LogConfig, leaderEpoch: number): Promise<PartitionLog> {
    const key = `${topic}/${partition}`;
    const existing = this.logs.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    let p = this.opening.get(key);
    if (p === undefined) {
      p = (async () => {
        await mkdir(join(this.topicsDir, topic), { recursive: true });
        const log = await PartitionLog.open(this.partitionDir(topic, partition), { config, leaderEpoch, syncer: this.syncer, logger: this.logger });
        this.logs.set(key, log);
        return log;
      })().finally(() => this.opening.delete(key));
      this.opening.set(key, p);
    }
    return p;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(`${topic}/${partition}`);
  }

  /** Partition directories on disk; also sweeps leftovers of earlier topic deletions. */
  async scan(): Promise<Array<{ topic: string; partition: number }>> {
    const out: Array<{ topic: string; partition: number }> = [];
    let topics: string[];
    try {
      topics = await readdir(this.topicsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const topic of topics) {
      if (topic.includes(DELETED_MARK)) {
        this.removeLater(join(this.topicsDir, topic));
        continue;
      }
      let parts: string[];
      try {
        parts = await readdir(join(this.topicsDir, topic));
      } catch {
        continue;
      }
      for (const p of parts) if (/^\d+$/.test(p)) out.push({ topic, partition: Number(p) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Closes the topic's logs, renames its directory out of the way and removes it in the background. */
  async deleteTopic(topic: string): Promise<void> {
    await Promise.allSettled([...this.opening.entries()].filter(([k]) => k.startsWith(`${topic}/`)).map(([, p]) => p));
    const mine = [...this.logs.entries()].filter(([k]) => k.slice(0, k.lastIndexOf('/')) === topic);
    for (const [key, log] of mine) {
      this.logs.delete(key);
      await log.close();
    }
    const from = join(this.topicsDir, topic);
    const to = join(this.topicsDir, `${topic}${DELETED_MARK}${Date.now().toString(36)}.deleted`);
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fsyncDir(this.topicsDir);
    this.removeLater(to);
  }

  /** Graceful shutdown: every log drained, flushed and closed. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.opening.values()]);
    const logs = [...this.logs.values()];
    this.logs.clear();
    const results = await Promise.allSettled(logs.map((l) => l.close()));
    await Promise.allSettled([...this.removals]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private removeLater(path: string): void {
    const p = rm(path, { recursive: true, force: true }).catch((err: Error) => this.logger.warn({ path, err }, 'could not remove a deleted topic directory'));
    this.removals.add(p);
    void p.finally(() => this.removals.delete(p));
  }
}
