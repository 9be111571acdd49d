/**
 * Rate limit for log lines a remote peer can trigger at will (malformed frames, oversized
 * sizes, timeouts): at most `perInterval` lines per key per interval; the first line of the next
 * interval carries how many were suppressed.
 */
export class LogLimiter {
  private readonly keys = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly perInterval = 5,
    private readonly intervalMs = 60_000,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: drop this line; otherwise log it, noting `suppressed` earlier drops. */
  take(key: string): { suppressed: number } | null {
    const t = this.now();
    let e = this.keys.get(key);
    if (e === undefined || t - e.start >= this.intervalMs) {
      const suppressed = e?.suppressed ?? 0;
      if (e === undefined && this.keys.size >= this.maxKeys) {
        // Many distinct peers: forget the oldest entry rather than grow without bound.
        const oldest = this.keys.keys().next().value;
        if (oldest !== undefined) this.keys.delete(oldest);
      }
      this.keys.delete(key);
      e = { start: t, count: 0, suppressed: 0 };
      this.keys.set(key, e);
      e.count++;
      return { suppressed };
    }
    if (e.count < this.perInterval) {
      e.count++;
      return { suppressed: 0 };
    }
    e.suppressed++;
    return null;
  }
}
