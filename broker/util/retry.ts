// One retry loop for the whole code base: a deadline or an attempt cap, exponential backoff
// with jitter (so many clients do not retry in lockstep), and a predicate that says which
// failures are worth another try. Sleeping goes through node:timers/promises so an AbortSignal
// can cut it short.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Backoff {
  /** First delay (ms). */
  initialMs: number;
  /** Ceiling of the delay (ms). */
  maxMs: number;
  /** Fraction of each delay drawn at random: 0 = none, 0.5 = delay × [0.5, 1]. */
  jitter?: number;
}

export interface RetryOptions extends Partial<Backoff> {
  /** Total attempts, the first included (default: unbounded; then a deadline is needed). */
  attempts?: number;
  /** Give up once this many ms have passed since the first attempt. */
  deadlineMs?: number;
  /** Failures that may succeed on another try; others are thrown at once (default: all). */
  retriable?: (err: unknown) => boolean;
  /** A hint that overrides the computed delay (e.g. HTTP Retry-After); undefined = use backoff. */
  delayHint?: (err: unknown) => number | undefined;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  /** For tests: a source of randomness in [0, 1). */
  random?: () => number;
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const raw = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  const jitter = b.jitter ?? 0;
  return Math.round(raw * (1 - jitter + jitter * random()));
}

export class RetryGaveUpError extends Error {
  constructor(
    readonly attempts: number,
    readonly last: unknown,
  ) {
    super(`gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last instanceof Error ? last.message : String(last)}`, { cause: last });
    this.name = 'RetryGaveUpError';
  }
}

/**
 * Runs `fn` until it succeeds, a failure is not retriable (rethrown as is), or the attempts or
 * deadline run out (RetryGaveUpError with the last failure as cause).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  if (o.attempts === undefined && o.deadlineMs === undefined) throw new Error('retry needs attempts or deadlineMs');
  const b: Backoff = { initialMs: o.initialMs ?? 100, maxMs: o.maxMs ?? 2_000, jitter: o.jitter ?? 0.2 };
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (o.retriable && !o.retriable(err)) throw err;
      if (o.attempts !== undefined && attempt >= o.attempts) throw new RetryGaveUpError(attempt, err);
      let delay = o.delayHint?.(err) ?? backoffDelay(attempt, b, o.random);
      if (o.deadlineMs !== undefined) {
        const left = o.deadlineMs - (Date.now() - start);
        if (left <= 0) throw new RetryGaveUpError(attempt, err);
        delay = Math.min(delay, left);
      }
      o.onRetry?.(err, attempt, delay);
      await sleep(delay, undefined, { signal: o.signal });
    }
  }
}
