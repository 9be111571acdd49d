// Coalesces a partition writer's high watermark publications: at most one store round trip in
// flight, and each one covers every commit that became durable before it started.
import type { ControlStore, LeaseKey } from './control-store.js';
import { LeaseLostError } from './lease-lost-error.js';

interface Waiter {
  end: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class HighWatermarkPublisher {
  private waiters: Waiter[] = [];
  private running = false;
  private lost: Error | null = null;

  constructor(
    private readonly store: ControlStore,
    readonly key: LeaseKey,
    private readonly holder: number,
    readonly epoch: number,
  ) {}

  /** Resolves once `end` is published under this lease; rejects with LeaseLostError if fenced. */
  publish(end: number): Promise<void> {
    if (this.lost !== null) return Promise.reject(this.lost);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ end, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  /**
   * Resolves if the lease is still held at this epoch; rejects with LeaseLostError otherwise (or
   * when the store cannot say). For writes outside the append path: metadata, retention.
   */
  async confirm(): Promise<void> {
    if (this.lost !== null) throw this.lost;
    let ok: boolean;
    try {
      ok = this.store.holdsLease ? await this.store.holdsLease(this.key, this.holder, this.epoch) : true;
    } catch (e) {
      throw new LeaseLostError(`cannot confirm lease ${this.key}: ${(e as Error).message}`);
    }
    if (!ok) {
      this.lost ??= new LeaseLostError(`lease ${this.key} epoch ${this.epoch} is no longer held by node ${this.holder}`);
      throw this.lost;
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.length > 0) {
        const batch = this.waiters;
        this.waiters = [];
        const end = Math.max(...batch.map((w) => w.end));
        let err: Error | null = null;
        try {
          const ok = await this.store.publishHighWatermark(this.key, this.holder, this.epoch, end);
          if (!ok) err = this.lost = new LeaseLostError(`lease ${this.key} epoch ${this.epoch} is no longer held by node ${this.holder}`);
        } catch (e) {
          // The store is unreachable: we cannot prove we still hold the lease, so do not ack.
          err = new LeaseLostError(`cannot confirm lease ${this.key}: ${(e as Error).message}`);
        }
        for (const w of batch) (err === null ? w.resolve() : w.reject(err));
        if (this.lost !== null) {
          for (const w of this.waiters.splice(0)) w.reject(this.lost);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
