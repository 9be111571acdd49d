import { describe, expect, it } from 'vitest';
import { ResponseOrder } from '../../broker/server/response-order.js';

const b = (s: string): Buffer[] => [Buffer.from(s)];
const text = (ready: Buffer[][]): string[] => ready.map((parts) => Buffer.concat(parts).toString());

describe('ResponseOrder', () => {
  it('releases responses in reservation order whatever the settle order', () => {
    const o = new ResponseOrder();
    const t = [o.reserve(), o.reserve(), o.reserve()];
    expect(text(o.settle(t[2]!, b('c')))).toEqual([]);
    expect(text(o.settle(t[1]!, b('b')))).toEqual([]);
    expect(o.size).toBe(3);
    expect(text(o.settle(t[0]!, b('a')))).toEqual(['a', 'b', 'c']);
    expect(o.size).toBe(0);
  });

  it('skips null responses without blocking later ones', () => {
    const o = new ResponseOrder();
    const t = [o.reserve(), o.reserve(), o.reserve()];
    expect(text(o.settle(t[0]!, null))).toEqual([]);
    expect(o.size).toBe(2);
    expect(text(o.settle(t[1]!, b('b')))).toEqual(['b']);
    expect(text(o.settle(t[2]!, null))).toEqual([]);
    expect(o.size).toBe(0);
  });

  it('keeps tokens valid across compaction of a long pipelined stream', () => {
    const o = new ResponseOrder();
    const blocker = o.reserve();
    let pending = o.reserve();
    for (let i = 0; i < 5000; i++) {
      const next = o.reserve();
      expect(o.settle(pending, b(String(i)))).toEqual([]);
      pending = next;
    }
    expect(o.settle(blocker, null)).toHaveLength(5000);
    // Steady state with one slot always outstanding.
    for (let i = 0; i < 3000; i++) {
      const next = o.reserve();
      expect(text(o.settle(pending, b(`x${i}`)))).toEqual([`x${i}`]);
      pending = next;
    }
    expect(o.size).toBe(1);
    expect(() => o.settle(blocker, null)).toThrow(/settled twice/);
  });
});
