// A clock whose time moves only when the test says so.
import type { Clock, Timer } from '../../broker/groups/clock.js';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private entries: Entry[] = [];

  now(): number {
    return this.t;
  }

  schedule(delayMs: number, fn: () => void): Timer {
    const e: Entry = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.entries.push(e);
    return {
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Moves time forward, running due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.entries = this.entries.filter((e) => !e.cancelled);
      let next: Entry | undefined;
      for (const e of this.entries) if (e.at <= end && (!next || e.at < next.at || (e.at === next.at && e.seq < next.seq))) next = e;
      if (!next) break;
      this.entries.splice(this.entries.indexOf(next), 1);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  get pendingTimers(): number {
    return this.entries.filter((e) => !e.cancelled).length;
  }
}
