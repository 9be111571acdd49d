// Test-only builder/decoder for uncompressed Kafka v2 record batches.
import { crc32c } from '@node-rs/crc32';

export interface TestRecord {
  key?: string | null;
  value: string | Buffer | null;
  timestamp?: number;
}

export interface BatchOptions {
  timestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
}

function varint(n: number): number[] {
  let z = n >= 0 ? n * 2 : -n * 2 - 1; // zigzag
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return out;
}

function bytesField(b: Buffer | null): Buffer {
  if (b === null) return Buffer.from(varint(-1));
  return Buffer.concat([Buffer.from(varint(b.length)), b]);
}

function toBuf(v: string | Buffer | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

export function buildBatch(records: TestRecord[], opts: BatchOptions = {}): Buffer {
  const baseTs = opts.timestamp ?? records[0]?.timestamp ?? 1_700_000_000_000;
  let maxTs = baseTs;
  const encoded = records.map((r, i) => {
    const ts = r.timestamp ?? baseTs;
    maxTs = Math.max(maxTs, ts);
    const body = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(varint(ts - baseTs)),
      Buffer.from(varint(i)),
      bytesField(toBuf(r.key)),
      bytesField(toBuf(r.value)),
      Buffer.from(varint(0)),
    ]);
    return Buffer.concat([Buffer.from(varint(body.length)), body]);
  });
  const recs = Buffer.concat(encoded);
  const buf = Buffer.alloc(61 + recs.length);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  const attrs = (opts.transactional ? 0x10 : 0) | (opts.control ? 0x20 : 0);
  buf.writeInt16BE(attrs, 21);
  buf.writeInt32BE(records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(baseTs), 27);
  buf.writeBigInt64BE(BigInt(maxTs), 35);
  buf.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  buf.writeInt16BE(opts.producerEpoch ?? -1, 51);
  buf.writeInt32BE(opts.baseSequence ?? -1, 53);
  buf.writeInt32BE(records.length, 57);
  recs.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

/** A batch of `n` records with values `${prefix}${i}`. */
export function valuesBatch(n: number, prefix = 'v', opts: BatchOptions = {}): Buffer {
  return buildBatch(Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}` })), opts);
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  leaderEpoch: number;
  attributes: number;
  maxTimestamp: number;
  crcOk: boolean;
  values: string[];
}

function readVarint(buf: Buffer, pos: { p: number }): number {
  let shift = 1;
  let z = 0;
  for (;;) {
    const b = buf[pos.p++]!;
    z += (b & 0x7f) * shift;
    if ((b & 0x80) === 0) break;
    shift *= 0x80;
  }
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Decodes back-to-back uncompressed batches (as returned by PartitionLog.read). */
export function decodeBatches(data: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos < data.length) {
    const size = data.readInt32BE(pos + 8) + 12;
    const b = data.subarray(pos, pos + size);
    const values: string[] = [];
    const cur = { p: 61 };
    for (let i = 0; i < b.readInt32BE(57); i++) {
      readVarint(b, cur); // length
      cur.p++; // attributes
      readVarint(b, cur);
      readVarint(b, cur);
      const kl = readVarint(b, cur);
      if (kl > 0) cur.p += kl;
      const vl = readVarint(b, cur);
      values.push(vl < 0 ? '' : b.subarray(cur.p, cur.p + vl).toString());
      if (vl > 0) cur.p += vl;
      const hc = readVarint(b, cur);
      if (hc !== 0) throw new Error('headers not supported by the test decoder');
    }
    const baseOffset = Number(b.readBigInt64BE(0));
    out.push({
      baseOffset,
      lastOffset: baseOffset + b.readInt32BE(23),
      leaderEpoch: b.readInt32BE(12),
      attributes: b.readInt16BE(21),
      maxTimestamp: Number(b.readBigInt64BE(35)),
      crcOk: crc32c(b.subarray(21)) === b.readUInt32BE(17),
      values,
    });
    pos += size;
  }
  return out;
}
