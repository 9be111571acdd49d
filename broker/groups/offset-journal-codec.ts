// Journal records: [u32 payload length][u32 crc32c(payload)][payload = UTF-8 JSON]. A torn or
// corrupt tail (crash mid-write) fails the length or crc check and ends the replay there.
import { crc32c } from '@node-rs/crc32';
import type { CommittedOffset, OffsetWrite, TopicPartition } from './offset-store.js';

export const RECORD_HEADER = 8;
/** A record longer than this is treated as corruption, not allocated. */
const MAX_RECORD = 256 * 1024 * 1024;

/** [topic, partition, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp] */
type WireOffset = [string, number, number, number, string, number, number | null];

export type JournalRecord =
  | { kind: 'commit'; groupId: string; writes: OffsetWrite[] }
  | { kind: 'delete'; groupId: string; partitions: TopicPartition[] | null };

export function toWire(w: OffsetWrite): WireOffset {
  const v = w.value;
  return [w.topic, w.partition, v.offset, v.leaderEpoch, v.metadata, v.commitTimestamp, v.expireTimestamp];
}

export function fromWire(x: unknown): OffsetWrite {
  if (!Array.isArray(x) || x.length !== 7) throw new Error('malformed offset entry');
  const [topic, partition, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp] = x as unknown[];
  if (typeof topic !== 'string' || typeof partition !== 'number' || typeof offset !== 'number' || typeof leaderEpoch !== 'number') {
    throw new Error('malformed offset entry');
  }
  if (typeof metadata !== 'string' || typeof commitTimestamp !== 'number' || (expireTimestamp !== null && typeof expireTimestamp !== 'number')) {
    throw new Error('malformed offset entry');
  }
  const value: CommittedOffset = { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
  return { topic, partition, value };
}

export function encodeRecord(rec: JournalRecord): Buffer {
  const body =
    rec.kind === 'commit'
      ? { c: rec.groupId, o: rec.writes.map(toWire) }
      : { d: rec.groupId, p: rec.partitions === null ? null : rec.partitions.map((p) => [p.topic, p.partition]) };
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32c(payload) >>> 0, 4);
  payload.copy(out, RECORD_HEADER);
  return out;
}

function decodePayload(payload: Buffer): JournalRecord {
  const body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  if (typeof body.c === 'string' && Array.isArray(body.o)) return { kind: 'commit', groupId: body.c, writes: body.o.map(fromWire) };
  if (typeof body.d === 'string' && (body.p === null || Array.isArray(body.p))) {
    const partitions =
      body.p === null
        ? null
        : (body.p as unknown[]).map((e) => {
            if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new Error('malformed partition entry');
            return { topic: e[0] as string, partition: e[1] as number };
          });
    return { kind: 'delete', groupId: body.d, partitions };
  }
  throw new Error('unknown journal record');
}

export interface DecodeResult {
  records: JournalRecord[];
  /** Bytes of `buf` holding whole, valid records; anything after is torn or corrupt. */
  validBytes: number;
}

export function decodeRecords(buf: Buffer): DecodeResult {
  const records: JournalRecord[] = [];
  let pos = 0;
  while (pos + RECORD_HEADER <= buf.length) {
    const len = buf.readUInt32BE(pos);
    if (len > MAX_RECORD || pos + RECORD_HEADER + len > buf.length) break;
    const payload = buf.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + len);
    if ((crc32c(payload) >>> 0) !== buf.readUInt32BE(pos + 4)) break;
    try {
      records.push(decodePayload(payload));
    } catch {
      break;
    }
    pos += RECORD_HEADER + len;
  }
  return { records, validBytes: pos };
}
