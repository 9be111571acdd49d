import { unlink } from 'node:fs/promises';
import { LAST_OFFSET_DELTA } from '../protocol/records/batch-header.js';
import { fsyncDir } from './atomic-file.js';
import { readInt64 } from './file-io.js';
import { Segment } from './segment.js';

/**
 * Replacement of a run of sealed segments by rewritten ones (log compaction). Output goes to
 * `.cleaned` files; commit fsyncs them, renames them `.swap` (from then on recovery completes
 * the swap), swaps the in-memory list, retires the old files and gives the new ones their
 * final names.
 */
export class SegmentRewrite {
  private readonly outputs: Segment[] = [];
  private finished = false;

  constructor(
    private readonly dir: string,
    private readonly run: Segment[],
    /** Every rewritten offset must be below this (the base of the segment after the run). */
    readonly endOffset: number,
    private readonly indexInterval: number,
    private readonly swap: (old: Segment[], fresh: Segment[]) => Promise<void>,
  ) {}

  /** First offset covered by the run; the first output segment must start here. */
  get startOffset(): number {
    return this.run[0]!.baseOffset;
  }

  /** Begins the next output segment. */
  async startSegment(baseOffset: number, leaderEpoch: number): Promise<void> {
    this.checkOpen();
    const prev = this.outputs[this.outputs.length - 1];
    if (prev === undefined ? baseOffset !== this.startOffset : baseOffset < prev.nextOffset || baseOffset === prev.baseOffset) {
      throw new Error(`output segment base ${baseOffset} out of order`);
    }
    if (baseOffset >= this.endOffset) throw new Error(`output segment base ${baseOffset} is past the run end ${this.endOffset}`);
    const seg = await Segment.create(this.dir, baseOffset, leaderEpoch, Date.now(), '.cleaned');
    seg.indexIntervalHint = this.indexInterval;
    this.outputs.push(seg);
  }

  /** Appends one stored batch (offsets already assigned) to the current output segment. */
  async append(batch: Buffer): Promise<void> {
    this.checkOpen();
    const seg = this.outputs[this.outputs.length - 1];
    if (seg === undefined) throw new Error('startSegment first');
    const base = readInt64(batch, 0);
    const last = base + batch.readInt32BE(LAST_OFFSET_DELTA);
    if (base < seg.nextOffset || last >= this.endOffset) throw new Error(`batch ${base}..${last} out of order or outside the run`);
    await seg.appendBatch(batch);
  }

  async commit(): Promise<void> {
    this.checkOpen();
    if (this.outputs.length === 0) await this.startSegment(this.startOffset, this.run[0]!.epoch);
    this.finished = true;
    try {
      for (const s of this.outputs) {
        await s.writeHandle.datasync();
        s.seal();
      }
      for (const s of this.outputs) await s.renameTo('.swap');
      await fsyncDir(this.dir);
      await this.swap(this.run, this.outputs);
    } catch (err) {
      await this.discard();
      throw err;
    }
    for (const s of this.outputs) await s.renameTo('');
    await fsyncDir(this.dir);
    for (const s of this.outputs) await s.writeIndexes();
  }

  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.discard();
  }

  private async discard(): Promise<void> {
    for (const s of this.outputs) {
      await s.closeHandle();
      await unlink(s.logPath).catch(() => {});
    }
  }

  private checkOpen(): void {
    if (this.finished) throw new Error('segment rewrite already finished');
  }
}
