// Seeded mutations of captured request frames for the malformed-input test.
import { API_INFO } from '../../broker/protocol/generated/api-keys.js';

/** Park-Miller; deterministic for a given seed so a failing run can be replayed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = (Math.abs(Math.floor(seed)) % 0x7ffffffe) + 1;
  }
  next(): number {
    this.state = (this.state * 48271) % 0x7fffffff;
    return (this.state - 1) / 0x7ffffffe;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface Mutant {
  /** Frame without size prefix (the sender adds a prefix matching this length). */
  frame: Buffer;
  kind: string;
  /** API key of the frame it was made from. */
  seedKey: number;
}

export interface Seed {
  frame: Buffer;
  apiKey: number;
  /** Positions that look like int16 string lengths. */
  int16Lengths: number[];
  /** Positions that look like int32 array/bytes lengths. */
  int32Lengths: number[];
  /** Positions that look like compact (uvarint) string lengths. */
  compactLengths: number[];
}

const BOUNDARY_BYTES = [0x00, 0x7f, 0x80, 0xff] as const;
const INT16_VALUES = [-1, 0x7fff, -0x8000, 0, 0x7ffe] as const;
const INT32_VALUES = [-1, 0x7fffffff, -0x80000000, 0x10000000, 0, 0x7ffffff0] as const;
const HEADER_BYTES = 8; // apiKey, apiVersion, correlationId

const printable = (b: number) => b >= 0x20 && b < 0x7f;

function allPrintable(buf: Buffer, from: number, n: number): boolean {
  if (from + n > buf.length) return false;
  for (let i = from; i < from + n; i++) if (!printable(buf[i]!)) return false;
  return true;
}

/** Finds fields worth aiming at: where a length prefix plausibly sits. */
export function analyseSeed(frame: Buffer): Seed {
  const int16Lengths: number[] = [];
  const int32Lengths: number[] = [];
  const compactLengths: number[] = [];
  for (let p = HEADER_BYTES; p + 2 <= frame.length; p++) {
    const v = frame.readInt16BE(p);
    if (v >= 1 && v <= 255 && allPrintable(frame, p + 2, v)) int16Lengths.push(p);
    if (p + 4 <= frame.length) {
      const w = frame.readInt32BE(p);
      if (w >= 1 && w <= frame.length - p - 4) int32Lengths.push(p);
    }
    const c = frame[p]!;
    if (c >= 2 && c <= 128 && allPrintable(frame, p + 1, c - 1)) compactLengths.push(p);
  }
  return { frame, apiKey: frame.length >= 2 ? frame.readInt16BE(0) : -1, int16Lengths, int32Lengths, compactLengths };
}

/** A position, mostly past the fixed header so the body decoders are reached. */
function position(rng: Rng, len: number): number {
  if (len <= HEADER_BYTES || rng.chance(0.1)) return rng.int(0, Math.max(0, len - 1));
  return rng.int(HEADER_BYTES, len - 1);
}

function bitflip(rng: Rng, f: Buffer): Buffer {
  const out = Buffer.from(f);
  if (out.length === 0) return out;
  for (let n = rng.int(1, 4); n > 0; n--) {
    const p = position(rng, out.length);
    out[p] = out[p]! ^ (1 << rng.int(0, 7));
  }
  return out;
}

function boundaryBytes(rng: Rng, f: Buffer): Buffer {
  const out = Buffer.from(f);
  if (out.length === 0) return out;
  for (let n = rng.int(1, 3); n > 0; n--) out[position(rng, out.length)] = rng.pick(BOUNDARY_BYTES);
  return out;
}

function lengthField(rng: Rng, seed: Seed, width: 2 | 4): Buffer {
  const out = Buffer.from(seed.frame);
  const aimed = width === 2 ? seed.int16Lengths : seed.int32Lengths;
  const max = out.length - width;
  if (max < 0) return out;
  const p = aimed.length > 0 && rng.chance(0.7) ? rng.pick(aimed) : Math.min(position(rng, out.length), max);
  if (width === 2) out.writeInt16BE(rng.pick(INT16_VALUES), p);
  else out.writeInt32BE(rng.pick(INT32_VALUES), p);
  return out;
}

function compactLength(rng: Rng, seed: Seed): Buffer {
  const out = Buffer.from(seed.frame);
  if (seed.compactLengths.length === 0) return boundaryBytes(rng, seed.frame);
  const p = rng.pick(seed.compactLengths);
  // 0 = null, 0xff/0x80 start a longer varint, 0x7f is a long string.
  out[p] = rng.pick(BOUNDARY_BYTES);
  if (rng.chance(0.3)) {
    // A varint that never ends inside the frame, or one past 32 bits.
    const tail = rng.chance(0.5) ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) : Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    return Buffer.concat([out.subarray(0, p), tail, out.subarray(p + 1)]);
  }
  return out;
}

function truncate(rng: Rng, f: Buffer): Buffer {
  return Buffer.from(f.subarray(0, rng.int(0, Math.max(0, f.length - 1))));
}

function duplicateRange(rng: Rng, f: Buffer): Buffer {
  if (f.length < 2) return Buffer.from(f);
  const a = position(rng, f.length);
  const b = Math.min(f.length, a + rng.int(1, 64));
  const at = position(rng, f.length);
  return Buffer.concat([f.subarray(0, at), f.subarray(a, b), f.subarray(at)]);
}

function removeRange(rng: Rng, f: Buffer): Buffer {
  if (f.length < 2) return Buffer.from(f);
  const a = position(rng, f.length);
  const b = Math.min(f.length, a + rng.int(1, 64));
  return Buffer.concat([f.subarray(0, a), f.subarray(b)]);
}

/** Another API's or version's body behind this header: decoders meet foreign layouts. */
function retarget(rng: Rng, f: Buffer, seeds: readonly Seed[]): Buffer {
  const out = Buffer.from(f);
  if (out.length < 4) return out;
  if (rng.chance(0.5)) {
    const info = API_INFO[out.readInt16BE(0)];
    const v = info && rng.chance(0.7) ? rng.int(info.minVersion, info.maxVersion) : rng.pick([-1, 0x7fff, 99, info ? info.maxVersion + 1 : 1]);
    out.writeInt16BE(v, 2);
    return out;
  }
  const other = rng.pick(seeds).frame;
  if (other.length < 4) return out;
  return Buffer.concat([other.subarray(0, 4), out.subarray(4)]);
}

function garbage(rng: Rng): Buffer {
  const out = Buffer.alloc(rng.int(0, 300));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 255);
  if (out.length >= 4 && rng.chance(0.6)) {
    // A plausible header so the body parser, not the version check, sees the garbage.
    const info = rng.pick(Object.values(API_INFO));
    out.writeInt16BE(info.key, 0);
    out.writeInt16BE(rng.int(info.minVersion, info.maxVersion), 2);
  }
  return out;
}

export function mutate(rng: Rng, seeds: readonly Seed[]): Mutant {
  const seed = rng.pick(seeds);
  const f = seed.frame;
  const r = rng.next();
  let kind: string;
  let frame: Buffer;
  if (r < 0.2) [kind, frame] = ['bitflip', bitflip(rng, f)];
  else if (r < 0.36) [kind, frame] = ['boundary-bytes', boundaryBytes(rng, f)];
  else if (r < 0.46) [kind, frame] = ['int16-length', lengthField(rng, seed, 2)];
  else if (r < 0.58) [kind, frame] = ['int32-length', lengthField(rng, seed, 4)];
  else if (r < 0.64) [kind, frame] = ['compact-length', compactLength(rng, seed)];
  else if (r < 0.72) [kind, frame] = ['truncate', truncate(rng, f)];
  else if (r < 0.78) [kind, frame] = ['duplicate-range', duplicateRange(rng, f)];
  else if (r < 0.84) [kind, frame] = ['remove-range', removeRange(rng, f)];
  else if (r < 0.91) [kind, frame] = ['retarget', retarget(rng, f, seeds)];
  else if (r < 0.97) [kind, frame] = ['garbage', garbage(rng)];
  else [kind, frame] = ['original', Buffer.from(f)];
  return { frame, kind, seedKey: seed.apiKey };
}

/** Every proper prefix of the frame (its size prefix will say the truncated length). */
export function* everyTruncation(frame: Buffer, apiKey: number): Generator<Mutant> {
  for (let n = 0; n < frame.length; n++) yield { frame: Buffer.from(frame.subarray(0, n)), kind: 'truncate-all', seedKey: apiKey };
}
