import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, RetryGaveUpError } from '../../broker/util/retry.js';

describe('retry', () => {
  it('backs off exponentially up to the ceiling, with jitter inside its band', () => {
    const b = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, b))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(2, { ...b, jitter: 0.5 }, () => 0)).toBe(100);
    expect(backoffDelay(2, { ...b, jitter: 0.5 }, () => 0.999999)).toBe(200);
  });

  it('retries retriable failures and returns the first success', async () => {
    const seen: number[] = [];
    const v = await retry(async (n) => {
      seen.push(n);
      if (n < 3) throw new Error('flaky');
      return 'ok';
    }, { attempts: 5, initialMs: 1, maxMs: 2 });
    expect(v).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('rethrows a non-retriable failure at once', async () => {
    let calls = 0;
    const fatal = new Error('fatal');
    await expect(retry(async () => { calls++; throw fatal; }, { attempts: 5, initialMs: 1, retriable: (e) => e !== fatal })).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('gives up after the attempts with the last failure as cause', async () => {
    const err = await retry(async (n) => { throw new Error(`try ${n}`); }, { attempts: 3, initialMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryGaveUpError);
    expect((err as RetryGaveUpError).attempts).toBe(3);
    expect(((err as RetryGaveUpError).cause as Error).message).toBe('try 3');
  });

  it('stops at the deadline', async () => {
    let calls = 0;
    const err = await retry(async () => { calls++; throw new Error('down'); }, { deadlineMs: 50, initialMs: 10, maxMs: 10, jitter: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryGaveUpError);
    expect(calls).toBeGreaterThan(1);
  });

  it('refuses to retry forever', async () => {
    await expect(retry(async () => 1)).rejects.toThrow(/attempts or deadlineMs/);
  });
});
