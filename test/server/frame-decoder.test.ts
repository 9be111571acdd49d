import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameDecoder, FrameSizeError } from '../../broker/protocol/frame-decoder.js';
import { frame } from './frame-client.js';

describe('FrameDecoder', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reassembles a frame fed one byte at a time', () => {
    const d = new FrameDecoder(1024);
    const wire = Buffer.concat([frame(Buffer.from('hello')), frame(Buffer.from('world!'))]);
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...d.push(wire.subarray(i, i + 1)));
    expect(out.map((b) => b.toString())).toEqual(['hello', 'world!']);
    expect(d.pendingBytes).toBe(0);
  });

  it('returns many frames from one chunk, including empty ones, and keeps a trailing partial', () => {
    const d = new FrameDecoder(1024);
    const bodies = ['a', '', 'bcd', 'x'.repeat(300)];
    const wire = Buffer.concat([...bodies.map((b) => frame(Buffer.from(b))), frame(Buffer.from('tail')).subarray(0, 6)]);
    const out = d.push(wire);
    expect(out.map((b) => b.toString())).toEqual(bodies);
    expect(d.pendingBytes).toBe(6);
    expect(d.push(Buffer.from('il')).map((b) => b.toString())).toEqual(['tail']);
  });

  it('splits the size prefix itself across chunks', () => {
    const d = new FrameDecoder(1024);
    const wire = frame(Buffer.from('split'));
    expect(d.push(wire.subarray(0, 1))).toEqual([]);
    expect(d.push(wire.subarray(1, 3))).toEqual([]);
    expect(d.push(wire.subarray(3)).map((b) => b.toString())).toEqual(['split']);
  });

  it('concatenates a large multi-chunk frame exactly once', () => {
    const size = 8 * 1024 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body[i] = i % 251;
    const wire = frame(body);
    const d = new FrameDecoder(16 * 1024 * 1024);
    const concat = vi.spyOn(Buffer, 'concat');
    const out: Buffer[] = [];
    for (let pos = 0; pos < wire.length; pos += 65536) out.push(...d.push(wire.subarray(pos, pos + 65536)));
    expect(concat).toHaveBeenCalledTimes(1);
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(body)).toBe(true);
  });

  it('rejects negative and oversized prefixes before buffering the body', () => {
    const neg = Buffer.alloc(4);
    neg.writeInt32BE(-1, 0);
    expect(() => new FrameDecoder(100).push(neg)).toThrow(FrameSizeError);
    const big = Buffer.alloc(4);
    big.writeInt32BE(101, 0);
    const d = new FrameDecoder(100);
    expect(() => d.push(big)).toThrow(/invalid request size 101/);
    expect(d.pendingBytes).toBe(0);
    // Exactly the limit is fine.
    expect(new FrameDecoder(3).push(frame(Buffer.from('abc')))).toHaveLength(1);
  });
});
