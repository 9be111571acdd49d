// DescribeLogDirs: Floe has one log dir, the data dir (shared by every broker of a cluster, where
// each broker is a replica of every partition, as Metadata says). Sizes are the segment files'.
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { readDescribeLogDirsRequest, writeDescribeLogDirsResponse, type DescribeLogDirsRequest, type DescribeLogDirsResponse, type DescribeLogDirsResponseDescribeLogDirsTopic } from '../protocol/generated/describe-log-dirs.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Broker } from '../core/broker.js';
import { defineHandler } from './types.js';

type Topic = Input<DescribeLogDirsResponseDescribeLogDirsTopic>;

/** Bytes of the partition's segment files (Kafka's Log.size); 0 when the directory is missing. */
export async function partitionSize(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const n of names) {
    if (!n.endsWith('.log')) continue;
    // A segment removed by retention between readdir and stat just does not count.
    total += await stat(join(dir, n)).then((s) => s.size, () => 0);
  }
  return total;
}

async function describeTopics(broker: Broker, wanted: DescribeLogDirsRequest['topics']): Promise<Topic[]> {
  const selection: Array<{ name: string; partitions: number[] }> = [];
  if (wanted === null) {
    for (const t of broker.topics.list()) selection.push({ name: t.name, partitions: Array.from({ length: t.partitions }, (_, p) => p) });
  } else {
    // Unknown topics and partitions are left out, as Kafka does.
    for (const w of wanted) {
      const t = broker.topics.get(w.topic);
      if (!t) continue;
      const parts = [...new Set(w.partitions)].filter((p) => p >= 0 && p < t.partitions).sort((a, b) => a - b);
      if (parts.length > 0) selection.push({ name: t.name, partitions: parts });
    }
  }
  selection.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: Topic[] = [];
  for (const s of selection) {
    const partitions = [];
    for (const p of s.partitions) {
      partitions.push({ partitionIndex: p, partitionSize: await partitionSize(broker.logs.partitionDir(s.name, p)), offsetLag: 0, isFutureKey: false });
    }
    out.push({ name: s.name, partitions });
  }
  return out;
}

export default defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  apiKey: 35,
  minVersion: 0,
  maxVersion: 4,
  read: readDescribeLogDirsRequest,
  write: writeDescribeLogDirsResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const logDir = broker.config.dataDir;
    let totalBytes = -1;
    let usableBytes = -1;
    try {
      const fs = await statfs(logDir);
      totalBytes = fs.blocks * fs.bsize;
      usableBytes = fs.bavail * fs.bsize;
    } catch (err) {
      ctx.log.warn({ err, logDir }, 'statfs failed; log dir sizes unknown');
    }
    try {
      const topics = await describeTopics(broker, req.topics);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: [{ errorCode: ErrorCode.NONE, logDir, topics, totalBytes, usableBytes }] };
    } catch (err) {
      ctx.log.error({ err, logDir }, 'describe log dirs failed');
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: [{ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, logDir, topics: [], totalBytes, usableBytes }] };
    }
  },
});
