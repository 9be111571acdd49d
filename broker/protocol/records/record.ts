// One v2 record inside a batch's (decompressed) records section (docs/implementation.html 5.3.2).

import { invalidRecord } from './errors.js';
import { Cursor, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record as stored: deltas relative to its batch, and its byte range in the iterated buffer. */
export interface RawRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** Views into the iterated buffer, not copies. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** [start, end) covers the whole record including its length prefix, for copying it as is. */
  start: number;
  end: number;
}

/** Fields the validator needs, filled in place so walking a batch allocates nothing per record. */
export interface RecordScan {
  timestampDelta: number;
  offsetDelta: number;
  hasKey: boolean;
}

function bodyCursor(c: Cursor): Cursor {
  const len = c.varint();
  if (len < 0) throw invalidRecord(`invalid record size ${len}`);
  if (len > c.remaining) throw invalidRecord(`record size ${len} runs past the ${c.remaining} bytes left`);
  const body = new Cursor(c.buf, c.pos, c.pos + len);
  c.pos += len;
  return body;
}

function headerCount(body: Cursor): number {
  const n = body.varint();
  // Each header takes at least two bytes, which also stops absurd counts early.
  if (n < 0 || n > body.remaining / 2) throw invalidRecord(`invalid number of record headers ${n}`);
  return n;
}

function finish(body: Cursor): void {
  if (body.pos !== body.end) {
    throw invalidRecord(`record declares ${body.end - body.pos} more bytes than its fields use`);
  }
}

/** Reads one record at the cursor, advancing it past the record. */
export function readRecord(c: Cursor): RawRecord {
  const start = c.pos;
  const body = bodyCursor(c);
  const attributes = body.int8();
  const timestampDelta = body.varlong();
  const offsetDelta = body.varint();
  const keyLen = body.varint();
  const key = keyLen < 0 ? null : body.bytes(keyLen);
  const valueLen = body.varint();
  const value = valueLen < 0 ? null : body.bytes(valueLen);
  const n = headerCount(body);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < n; i++) {
    const hkLen = body.varint();
    if (hkLen < 0) throw invalidRecord(`invalid negative header key size ${hkLen}`);
    const hKey = body.bytes(hkLen).toString('utf8');
    const hvLen = body.varint();
    headers.push({ key: hKey, value: hvLen < 0 ? null : body.bytes(hvLen) });
  }
  finish(body);
  return { attributes, timestampDelta, offsetDelta, key, value, headers, start, end: c.pos };
}

/** Like readRecord but keeps only what validation needs, without allocating. */
export function scanRecord(c: Cursor, out: RecordScan): void {
  const body = bodyCursor(c);
  body.int8();
  out.timestampDelta = body.varlong();
  out.offsetDelta = body.varint();
  const keyLen = body.varint();
  out.hasKey = keyLen >= 0;
  if (keyLen > 0) body.skip(keyLen);
  const valueLen = body.varint();
  if (valueLen > 0) body.skip(valueLen);
  const n = headerCount(body);
  for (let i = 0; i < n; i++) {
    const hkLen = body.varint();
    if (hkLen < 0) throw invalidRecord(`invalid negative header key size ${hkLen}`);
    body.skip(hkLen);
    const hvLen = body.varint();
    if (hvLen > 0) body.skip(hvLen);
  }
  finish(body);
}

/**
 * Iterates the `count` records of an uncompressed records section (a batch's bytes after
 * RECORDS, decompressed). Throws a RecordsError on malformed data or bytes left over.
 */
export function* iterateRecords(recordsBytes: Buffer, count: number): Generator<RawRecord> {
  const c = new Cursor(recordsBytes, 0, recordsBytes.length);
  for (let i = 0; i < count; i++) {
    if (c.remaining === 0) throw invalidRecord(`batch declares ${count} records but holds ${i}`);
    yield readRecord(c);
  }
  if (c.remaining !== 0) throw invalidRecord(`${c.remaining} bytes remain after the last of ${count} records`);
}

/** What encodeRecord needs; key/value/header values already as bytes. */
export interface RecordFields {
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
}

function bodySize(r: RecordFields): number {
  let size = 1 + sizeOfVarlong(r.timestampDelta) + sizeOfVarint(r.offsetDelta);
  size += r.key === null ? 1 : sizeOfVarint(r.key.length) + r.key.length;
  size += r.value === null ? 1 : sizeOfVarint(r.value.length) + r.value.length;
  size += sizeOfVarint(r.headers.length);
  for (const h of r.headers) {
    size += sizeOfVarint(h.key.length) + h.key.length;
    size += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  }
  return size;
}

/** Encoded size of a record, length prefix included. */
export function sizeOfRecord(r: RecordFields): number {
  const body = bodySize(r);
  return sizeOfVarint(body) + body;
}

/** Writes a record at pos; returns the position after it. The caller sized the buffer. */
export function writeRecord(buf: Buffer, pos: number, r: RecordFields): number {
  pos = writeVarint(buf, pos, bodySize(r));
  buf[pos++] = 0; // record attributes are unused
  pos = writeVarlong(buf, pos, r.timestampDelta);
  pos = writeVarint(buf, pos, r.offsetDelta);
  pos = writeBytes(buf, pos, r.key);
  pos = writeBytes(buf, pos, r.value);
  pos = writeVarint(buf, pos, r.headers.length);
  for (const h of r.headers) {
    pos = writeBytes(buf, pos, h.key);
    pos = writeBytes(buf, pos, h.value);
  }
  return pos;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}
