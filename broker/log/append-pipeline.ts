// The write path of one partition log: appends and tasks run one at a time in arrival order;
// appends queued together are written with one gather write and made durable by one sync
// (group commit), then acknowledged in order as the high watermark passes them.
import { unlink } from 'node:fs/promises';
import { assignOffsets, mustRoll, parseAppend, type ParsedBatch } from './append-batches.js';
import { fsyncDir } from './atomic-file.js';
import { LogError } from './errors.js';
import { writeFully } from './file-io.js';
import type { FsyncScheduler } from './fsync-scheduler.js';
import { activeSegment, type AppendResult, type LogState, SNAPSHOTS_KEPT } from './log-state.js';
import { pruneProducerSnapshots, writeProducerSnapshot } from './producer-snapshot.js';
import { Segment } from './segment.js';

export interface AppendPipelineDeps {
  syncer: FsyncScheduler;
  /** Runs after a commit is durable, before it is acknowledged; a rejection fences the log. */
  beforeAck: ((endOffset: number) => Promise<void>) | undefined;
  /** The high watermark moved. */
  advanced: () => void;
  /** Runs work off the append path (index and snapshot writes). */
  track: (p: Promise<unknown>) => void;
}

interface AppendItem {
  kind: 'append';
  data: Buffer;
  now: number;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

interface TaskItem {
  kind: 'task';
  run: () => Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Appends written together and made durable by one sync. */
interface Commit {
  endOffset: number;
  done: boolean;
  waiters: Array<{ item: AppendItem; result: AppendResult }>;
  durable: Promise<void>;
  settle: (err?: Error) => void;
}

export class AppendPipeline {
  private queue: Array<AppendItem | TaskItem> = [];
  private draining = false;
  /** The running drain loop: abandon() waits for it before the files it writes are closed. */
  private drained: Promise<void> = Promise.resolve();
  private commits: Commit[] = [];
  private failed: Error | null = null;

  constructor(
    private readonly s: LogState,
    private readonly deps: AppendPipelineDeps,
  ) {}

  /** Set once the log went offline or was fenced: every later append fails with it. */
  get failure(): Error | null {
    return this.failed;
  }

  /** Queues validated v2 batches; resolves once they are durable and acknowledged. */
  append(data: Buffer, now: number): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ kind: 'append', data, now, resolve, reject });
      this.kick();
    });
  }

  /** Runs `run` after every earlier queued append has been written, before later ones. */
  runTask(run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'task', run, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when every commit so far is durable (or the log failed). */
  async settled(): Promise<void> {
    const last = this.commits[this.commits.length - 1];
    if (last !== undefined) await last.durable.catch(() => {});
  }

  /** Makes every later append fail with `reason` (unless the log already failed). */
  fence(reason: Error): void {
    if (this.failed === null) this.failed = reason;
  }

  /** Fails everything queued or unacknowledged with `reason` and waits for a write in flight. */
  async abandon(reason: Error): Promise<void> {
    for (const item of this.queue.splice(0)) item.reject(reason);
    for (const c of this.commits) {
      for (const w of c.waiters) w.item.reject(reason);
      c.settle(reason);
    }
    this.commits = [];
    // A write in flight still uses the handles.
    await this.drained.catch(() => {});
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'task') {
          this.queue.shift();
          try {
            await head.run();
            head.resolve();
          } catch (err) {
            head.reject(err as Error);
          }
          continue;
        }
        let n = 0;
        while (n < this.queue.length && this.queue[n]!.kind === 'append') n++;
        const group = this.queue.splice(0, n) as AppendItem[];
        try {
          await this.writeGroup(group);
        } catch (err) {
          // E.g. the files were closed under it (abandon): fail the log, never the process.
          this.fail(err as Error);
          for (const it of group) it.reject(this.failed!);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Writes a group of appends with one gather write and requests one sync for them. */
  private async writeGroup(items: AppendItem[]): Promise<void> {
    if (this.failed !== null) {
      for (const it of items) it.reject(this.failed);
      return;
    }
    const s = this.s;
    const waiters: Commit['waiters'] = [];
    let seg = activeSegment(s);
    let bufs: Buffer[] = [];
    let bufStart = seg.size;
    let wrote = false;
    try {
      for (const item of items) {
        let batches: ParsedBatch[];
        let dup: { firstOffset: number; lastOffset: number } | null;
        try {
          batches = parseAppend(item.data, s.config);
          if (mustRoll(s, seg, item.data.length, item.now, batches)) {
            if (bufs.length > 0) {
              await writeFully(seg.writeHandle, bufs, bufStart);
              seg.writtenSize = seg.size;
              bufs = [];
            }
            await this.roll(item.now);
            seg = activeSegment(s);
            bufStart = seg.size;
            wrote = false;
          }
          dup = s.producerState.check(batches);
        } catch (err) {
          if (!(err instanceof LogError)) throw err;
          item.reject(err);
          continue;
        }
        if (dup !== null) {
          const result = { baseOffset: dup.firstOffset, lastOffset: dup.lastOffset, logAppendTime: -1, logStartOffset: s.startOffset, duplicate: true };
          waiters.push({ item, result });
          continue;
        }
        const baseOffset = s.endOffset;
        const logAppendTime = assignOffsets(s, item.data, batches, seg, item.now);
        bufs.push(item.data);
        wrote = true;
        const result = { baseOffset, lastOffset: s.endOffset - 1, logAppendTime, logStartOffset: s.startOffset, duplicate: false };
        waiters.push({ item, result });
      }
      if (bufs.length > 0) {
        await writeFully(seg.writeHandle, bufs, bufStart);
        seg.writtenSize = seg.size;
      }
    } catch (err) {
      this.fail(err as Error);
      for (const it of items) it.reject(this.failed!);
      return;
    }
    // Abandoned (lease lost) while writing: nothing written now may be acknowledged.
    if (this.failed !== null) {
      for (const it of items) it.reject(this.failed);
      return;
    }
    if (waiters.length === 0) return;
    const commit = this.newCommit(waiters);
    this.commits.push(commit);
    const sync = wrote ? this.deps.syncer.sync(seg.writeHandle) : Promise.resolve();
    const gate = this.deps.beforeAck;
    sync.then(
      () => {
        if (gate === undefined) {
          commit.done = true;
          this.advance();
          return;
        }
        gate(commit.endOffset).then(
          () => {
            commit.done = true;
            this.advance();
          },
          (err: Error) => this.fail(err, true),
        );
      },
      (err: Error) => this.fail(err),
    );
  }

  private newCommit(waiters: Commit['waiters']): Commit {
    let settle!: (err?: Error) => void;
    const durable = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    durable.catch(() => {});
    return { endOffset: this.s.endOffset, done: false, waiters, durable, settle };
  }

  /** Resolves, in order, every commit whose sync finished and moves the high watermark. */
  private advance(): void {
    const s = this.s;
    let moved = false;
    while (this.commits.length > 0 && this.commits[0]!.done) {
      const c = this.commits.shift()!;
      if (c.endOffset > s.hw) {
        s.hw = c.endOffset;
        moved = true;
      }
      for (const w of c.waiters) {
        w.result.logStartOffset = s.startOffset;
        w.item.resolve(w.result);
      }
      c.settle();
    }
    if (moved) this.deps.advanced();
  }

  /**
   * A failed write or sync leaves memory and disk out of step: the log goes offline. `fenced`:
   * the commit gate refused (the writer lost its lease); its error is passed on as is.
   */
  private fail(err: Error, fenced = false): void {
    const s = this.s;
    if (this.failed === null) {
      this.failed = fenced ? err : new LogError('KAFKA_STORAGE_ERROR', `log ${s.dir} failed: ${err.message}`);
      if (fenced) s.logger.warn({ dir: s.dir, err: err.message }, 'partition log fenced; it accepts no more appends');
      else s.logger.error({ dir: s.dir, err }, 'partition log failed; it accepts no more appends');
    }
    for (const c of this.commits) {
      for (const w of c.waiters) w.item.reject(this.failed);
      c.settle(this.failed);
    }
    this.commits = [];
  }

  /**
   * Seals the active segment and starts a new one at the log end. The old segment is synced
   * first, so only the last segment can ever hold non-durable bytes (what recovery relies on).
   */
  private async roll(now: number): Promise<void> {
    const s = this.s;
    const old = activeSegment(s);
    if (old.size === 0) {
      // Nothing was written under the old name: replace the empty file instead of keeping it.
      s.segments.pop();
      await old.closeHandle();
      await unlink(old.logPath);
    } else {
      await this.deps.syncer.sync(old.writeHandle);
      old.seal();
      this.deps.track(old.writeIndexes());
    }
    const seg = await Segment.create(s.dir, s.endOffset, s.epoch, now);
    seg.indexIntervalHint = s.config.indexIntervalBytes;
    await fsyncDir(s.dir);
    s.segments.push(seg);
    if (old.size > 0) {
      this.deps.track(writeProducerSnapshot(s.dir, s.endOffset, s.producerState.toJSON(), s.epoch).then(() => pruneProducerSnapshots(s.dir, SNAPSHOTS_KEPT)));
    }
    s.logger.debug({ dir: s.dir, baseOffset: s.endOffset, epoch: s.epoch }, 'rolled segment');
  }
}
