// Per-partition counters shown by `floe fn status`.

export interface PartitionStatus {
  topic: string;
  partition: number;
  /** Next offset to process. */
  position: number;
  highWatermark: number;
  lag: number;
  processed: number;
  errors: number;
  deadLettered: number;
  /** Records/s over the last ~10 s. */
  throughput: number;
  /** Mean batch processing time per record (ms), recent. */
  latencyMs: number;
  /** Produce timestamp -> processed, last batch (ms). */
  endToEndMs: number;
  lastError: string | null;
}

const WINDOW_MS = 10_000;

export class PartitionStats {
  position = 0;
  processed = 0;
  errors = 0;
  deadLettered = 0;
  latencyMs = 0;
  endToEndMs = 0;
  lastError: string | null = null;
  private window: Array<{ at: number; n: number }> = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  recordBatch(n: number, tookMs: number, lastTimestamp: number): void {
    const now = Date.now();
    this.processed += n;
    this.window.push({ at: now, n });
    this.trim(now);
    const perRecord = n > 0 ? tookMs / n : tookMs;
    this.latencyMs = this.latencyMs === 0 ? perRecord : this.latencyMs * 0.8 + perRecord * 0.2;
    this.endToEndMs = Math.max(0, now - lastTimestamp);
  }

  recordError(err: Error): void {
    this.errors++;
    this.lastError = err.message;
  }

  private trim(now: number): void {
    while (this.window.length > 0 && this.window[0]!.at < now - WINDOW_MS) this.window.shift();
  }

  snapshot(highWatermark: number): PartitionStatus {
    const now = Date.now();
    this.trim(now);
    const n = this.window.reduce((s, w) => s + w.n, 0);
    return {
      topic: this.topic,
      partition: this.partition,
      position: this.position,
      highWatermark,
      lag: Math.max(0, highWatermark - this.position),
      processed: this.processed,
      errors: this.errors,
      deadLettered: this.deadLettered,
      throughput: Math.round((n / (WINDOW_MS / 1000)) * 10) / 10,
      latencyMs: Math.round(this.latencyMs * 1000) / 1000,
      endToEndMs: this.endToEndMs,
      lastError: this.lastError,
    };
  }
}
