// Keeps one table's local replica applying its changelog in a cluster: wakes when the changelog
// grows (the local log when leading, the published high watermark otherwise) and at least every
// idle period, since leadership moves and a wake-up can be missed across a move.
import type { Logger } from 'pino';
import type { PartitionRouter, PartitionView } from '../broker/cluster/router.js';

export interface TableFollowerOptions {
  changelogTopic: string;
  router: PartitionRouter;
  /** Applies whatever the changelog holds beyond the table's position. */
  catchUp(): Promise<void>;
  log?: Logger;
  /** Longest wait between two catch-ups without a wake-up (default 500 ms). */
  idleMs?: number;
}

export class TableFollower {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private dirty = false;
  private view: PartitionView | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: TableFollowerOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.dirty = false;
      try {
        const v = await this.opts.router.view(this.opts.changelogTopic, 0);
        if (v !== this.view) {
          this.unsubscribe?.();
          this.view = v;
          this.unsubscribe = v?.onAdvance(() => {
            this.dirty = true;
            this.wake?.();
          });
        }
        await this.opts.catchUp();
      } catch (err) {
        this.opts.log?.warn({ err, topic: this.opts.changelogTopic }, 'table catch-up failed; retrying');
      }
      if (this.stopped || this.dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.opts.idleMs ?? 500);
        timer.unref();
        const self = this;
        function done(): void {
          clearTimeout(timer);
          self.wake = undefined;
          resolve();
        }
        this.wake = done;
      });
    }
  }
}
