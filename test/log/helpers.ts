import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../broker/log/config.js';
import { FsyncScheduler } from '../../broker/log/fsync-scheduler.js';
import { PartitionLog } from '../../broker/log/partition-log.js';

const dirs: string[] = [];
const logs: PartitionLog[] = [];

afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((l) => l.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'floe-log-'));
  dirs.push(d);
  return d;
}

export function config(over: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, fileDeleteDelayMs: 0, ...over };
}

/** Opens a log that is closed after the test unless the test closes it itself. */
export async function openLog(
  dir: string,
  over: Partial<LogConfig> = {},
  leaderEpoch = 0,
  syncer = new FsyncScheduler(),
): Promise<PartitionLog> {
  const log = await PartitionLog.open(dir, { config: config(over), leaderEpoch, syncer });
  logs.push(log);
  return log;
}

/** A copy of a live log directory: what a crash at this instant would leave (page cache included). */
export async function crashImage(dir: string): Promise<string> {
  const copy = await tempDir();
  // Background index writes come and go as .tmp files; a crash would leave them, recovery deletes them.
  await cp(dir, copy, { recursive: true, filter: (src) => !src.endsWith('.tmp') });
  return copy;
}
