// Time source for the coordinator, injectable so tests can step session and rebalance timeouts.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  schedule(delayMs: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    // Group timers must never keep a stopping process alive.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
