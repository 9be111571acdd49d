import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import {
  BASE_OFFSET,
  batchSizeAt,
  Compression,
  CRC,
  readBatchHeader,
  RECORDS,
} from '../../broker/protocol/records/batch-header.js';
import { decompressSync } from '../../broker/protocol/records/compression.js';
import { batchCrcMatches, computeBatchCrc } from '../../broker/protocol/records/crc.js';
import { RecordsError } from '../../broker/protocol/records/errors.js';
import { setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch } from '../../broker/protocol/records/patch.js';
import {
  type BatchInput,
  decodeBatches,
  decodeBatchesSync,
  encodeBatch,
  encodeBatchSync,
  iterateRecords,
} from '../../broker/protocol/records/records.js';
import { KAFKAJS_GZIP_BATCH, KAFKAJS_ZSTD_BATCH } from './fixtures.js';

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const T0 = 1_700_000_000_000;

const mixed: BatchInput['records'] = [
  { key: 'k1', value: 'v1', timestamp: T0 },
  { key: null, value: 'no key', timestamp: T0 + 5 },
  { key: Buffer.from([0, 1, 2]), value: null, timestamp: T0 - 3 }, // tombstone, earlier timestamp
  { value: '', headers: [{ key: 'h1', value: 'x' }, { key: 'h-null', value: null }, { key: '', value: Buffer.alloc(0) }], timestamp: T0 + 1 },
  { key: '', value: 'ünïcødé ✓', headers: [{ key: 'ключ', value: Buffer.from([255, 0]) }], timestamp: T0 + 2 },
];

function asText(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

async function expectCode(p: Promise<unknown>, code: number): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => e instanceof RecordsError && e.code === code);
}

describe('encodeBatch / decodeBatches', () => {
  for (const codec of CODECS) {
    it(`round-trips keys, null keys, null values and headers with ${Compression[codec]}`, async () => {
      const buf = await encodeBatch({ records: mixed, compression: codec, baseOffset: 42 });
      expect(encodeBatchSync({ records: mixed, compression: codec, baseOffset: 42 }).length).toBe(buf.length);
      const [batch, ...rest] = await decodeBatches(buf);
      expect(rest).toHaveLength(0);
      expect(batch!.compression).toBe(codec);
      expect(batch!.header.recordsCount).toBe(5);
      expect(batch!.header.lastOffsetDelta).toBe(4);
      expect(batch!.header.baseTimestamp).toBe(T0);
      expect(batch!.header.maxTimestamp).toBe(T0 + 5);
      const r = batch!.records;
      expect(r.map((x) => x.offset)).toEqual([42, 43, 44, 45, 46]);
      expect(r.map((x) => x.timestamp)).toEqual([T0, T0 + 5, T0 - 3, T0 + 1, T0 + 2]);
      expect(r.map((x) => asText(x.key))).toEqual(['k1', null, '\u0000\u0001\u0002', null, '']);
      expect(r.map((x) => asText(x.value))).toEqual(['v1', 'no key', null, '', 'ünïcødé ✓']);
      expect(r[3]!.headers.map((h) => [h.key, asText(h.value)])).toEqual([['h1', 'x'], ['h-null', null], ['', '']]);
      expect(r[4]!.headers[0]!.key).toBe('ключ');
      expect([...r[4]!.headers[0]!.value!]).toEqual([255, 0]);
      expect(decodeBatchesSync(buf)[0]!.records.map((x) => asText(x.value))).toEqual(r.map((x) => asText(x.value)));
    });

    it(`round-trips an 8 MiB value with ${Compression[codec]}`, async () => {
      const big = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i); // not all zero
      const buf = await encodeBatch({ records: [{ key: 'big', value: big, timestamp: T0 }, { value: 'after', timestamp: T0 }], compression: codec });
      if (codec !== Compression.None) expect(buf.length).toBeLessThan(big.length);
      const [batch] = await decodeBatches(buf);
      expect(batch!.records[0]!.value!.equals(big)).toBe(true);
      expect(asText(batch!.records[1]!.value)).toBe('after');
    });
  }

  it('writes header fields where the v2 layout puts them, with a valid CRC32C', async () => {
    const buf = await encodeBatch({
      records: [{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 + 10 }],
      compression: Compression.Gzip,
      producerId: 7,
      producerEpoch: 3,
      baseSequence: 11,
      baseOffset: 100,
      isTransactional: true,
      partitionLeaderEpoch: 9,
    });
    expect(buf.length).toBe(batchSizeAt(buf));
    const h = readBatchHeader(buf);
    expect(h).toMatchObject({
      baseOffset: 100,
      partitionLeaderEpoch: 9,
      magic: 2,
      attributes: 0x11,
      lastOffsetDelta: 1,
      baseTimestamp: T0,
      maxTimestamp: T0 + 10,
      producerId: 7,
      producerEpoch: 3,
      baseSequence: 11,
      recordsCount: 2,
    });
    expect(h.crc).toBe(crc32c(buf.subarray(21)) >>> 0);
    expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
    const [d] = await decodeBatches(buf);
    expect(d!.isTransactional).toBe(true);
    expect(d!.timestampType).toBe('CreateTime');
  });

  it('uses producer defaults a non-idempotent client sends', async () => {
    const h = readBatchHeader(await encodeBatch({ records: [{ value: 'x', timestamp: T0 }] }));
    expect(h).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, producerId: -1, producerEpoch: -1, baseSequence: -1, attributes: 0 });
  });

  it('computes the CRC32C check value and the CRC of a batch written by kafkajs', () => {
    expect(crc32c(Buffer.from('123456789')) >>> 0).toBe(0xe3069283);
    const h = readBatchHeader(KAFKAJS_GZIP_BATCH);
    expect(computeBatchCrc(KAFKAJS_GZIP_BATCH, 0, KAFKAJS_GZIP_BATCH.length)).toBe(h.crc);
    expect(h.crc).toBe(3837994149);
  });

  it('decodes a gzip batch recorded from a real broker via kafkajs', async () => {
    const [batch] = await decodeBatches(KAFKAJS_GZIP_BATCH);
    expect(batch!.compression).toBe(Compression.Gzip);
    expect(batch!.timestampType).toBe('LogAppendTime');
    expect(batch!.records).toHaveLength(1);
    const r = batch!.records[0]!;
    expect(asText(r.key)).toBe('key-0');
    expect(asText(r.value)).toBe('value-0-2020-08-14T17:13:08.682Z');
    // LogAppendTime: every record carries the batch's maxTimestamp.
    expect(r.timestamp).toBe(1597425188809);
    expect(r.offset).toBe(0);
  });

  it('encodes a record byte-for-byte like kafkajs', async () => {
    const inner = decompressSync(Compression.Zstd, KAFKAJS_ZSTD_BATCH.subarray(RECORDS));
    const [r] = [...iterateRecords(inner, 1)];
    expect(r!.timestampDelta).toBe(0);
    expect(r!.headers).toEqual([]);
    const mine = await encodeBatch({ records: [{ key: r!.key, value: r!.value, timestamp: T0 }] });
    expect(mine.subarray(RECORDS).equals(inner)).toBe(true);
  });

  it('reads several batches back to back and skips a trailing partial batch', async () => {
    const a = await encodeBatch({ records: [{ value: 'a', timestamp: T0 }], baseOffset: 0 });
    const b = await encodeBatch({ records: [{ value: 'b', timestamp: T0 }, { value: 'c', timestamp: T0 }], baseOffset: 1, compression: Compression.Lz4 });
    const c = await encodeBatch({ records: [{ value: 'd', timestamp: T0 }], baseOffset: 3 });
    const all = Buffer.concat([a, b, c]);
    expect((await decodeBatches(all)).flatMap((x) => x.records.map((r) => `${r.offset}:${asText(r.value)}`))).toEqual(['0:a', '1:b', '2:c', '3:d']);
    for (const cut of [1, 11, 12, 30, c.length - 1]) {
      const partial = all.subarray(0, all.length - cut);
      expect((await decodeBatches(partial)).map((x) => x.header.baseOffset)).toEqual([0, 1]);
    }
    expect(await decodeBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('throws CORRUPT_MESSAGE on a CRC mismatch, unless verification is off', async () => {
    const buf = await encodeBatch({ records: [{ value: 'hello', timestamp: T0 }] });
    buf[buf.length - 2] ^= 0xff;
    await expectCode(decodeBatches(buf), 2);
    expect(() => decodeBatchesSync(buf)).toThrow(RecordsError);
    await expect(decodeBatches(buf, { verifyCrc: false })).resolves.toHaveLength(1);
  });

  it('throws on old message formats and impossible batch lengths', async () => {
    const buf = await encodeBatch({ records: [{ value: 'hello', timestamp: T0 }] });
    const v1 = Buffer.from(buf);
    v1[16] = 1;
    await expectCode(decodeBatches(v1), 2);
    const short = Buffer.from(buf);
    short.writeInt32BE(10, 8);
    await expectCode(decodeBatches(short), 2);
  });

  it('decodes control batches and the delete-horizon attribute', async () => {
    const commitKey = Buffer.from([0, 0, 0, 1]);
    const marker = await encodeBatch({
      records: [{ key: commitKey, value: Buffer.from([0, 0, 0, 0, 0, 5]), timestamp: T0 }],
      isControl: true,
      isTransactional: true,
      producerId: 99,
      producerEpoch: 1,
    });
    expect(readBatchHeader(marker).attributes).toBe(0x30);
    const [m] = await decodeBatches(marker);
    expect(m!.isControl).toBe(true);
    expect(m!.controlType).toBe(1);

    const horizon = T0 + 86_400_000;
    const cleaned = await encodeBatch({ records: [{ key: 'k', value: null, timestamp: T0 }], deleteHorizonMs: horizon });
    const [c] = await decodeBatches(cleaned);
    expect(c!.header.attributes & 0x40).toBe(0x40);
    expect(c!.deleteHorizonMs).toBe(horizon);
    expect(c!.header.baseTimestamp).toBe(horizon);
    expect(c!.records[0]!.timestamp).toBe(T0); // deltas are relative to the horizon
    const [plain] = await decodeBatches(await encodeBatch({ records: [{ value: 'v', timestamp: T0 }] }));
    expect(plain!.deleteHorizonMs).toBeNull();
    expect(plain!.controlType).toBeNull();
  });

  it('keeps compaction offset gaps and lastOffsetDelta', async () => {
    const buf = await encodeBatch({
      records: [{ key: 'a', value: '1', offsetDelta: 0, timestamp: T0 }, { key: 'b', value: '2', offsetDelta: 5, timestamp: T0 }],
      lastOffsetDelta: 9,
      baseOffset: 100,
    });
    const [b] = await decodeBatches(buf);
    expect(b!.header.lastOffsetDelta).toBe(9);
    expect(b!.records.map((r) => r.offset)).toEqual([100, 105]);
  });

  it('iterateRecords gives each record with its exact byte range', async () => {
    const buf = await encodeBatch({ records: mixed });
    const section = buf.subarray(RECORDS);
    const raws = [...iterateRecords(section, 5)];
    expect(raws.map((r) => r.offsetDelta)).toEqual([0, 1, 2, 3, 4]);
    expect(raws.map((r) => r.timestampDelta)).toEqual([0, 5, -3, 1, 2]);
    expect(raws[0]!.start).toBe(0);
    for (let i = 1; i < raws.length; i++) expect(raws[i]!.start).toBe(raws[i - 1]!.end);
    expect(raws[4]!.end).toBe(section.length);
    // Copying kept records' bytes verbatim yields a decodable section.
    const kept = Buffer.concat([section.subarray(raws[0]!.start, raws[0]!.end), section.subarray(raws[3]!.start, raws[3]!.end)]);
    expect([...iterateRecords(kept, 2)].map((r) => r.offsetDelta)).toEqual([0, 3]);
    expect(() => [...iterateRecords(section, 4)]).toThrow(/remain after/);
    expect(() => [...iterateRecords(section, 6)]).toThrow(/declares 6 records/);
  });

  it('patch helpers edit offsets and epochs outside the CRC and LogAppendTime inside it', async () => {
    const buf = await encodeBatch({ records: [{ value: 'x', timestamp: T0 }] });
    const crc = buf.readUInt32BE(CRC);
    setBaseOffset(buf, 0, 123456789012);
    setPartitionLeaderEpoch(buf, 0, 77);
    expect(buf.readUInt32BE(CRC)).toBe(crc);
    expect(Number(buf.readBigInt64BE(BASE_OFFSET))).toBe(123456789012);
    setLogAppendTime(buf, 0, T0 + 999);
    expect(batchCrcMatches(buf, 0, buf.length)).toBe(true);
    const [d] = await decodeBatches(buf);
    expect(d!.header.partitionLeaderEpoch).toBe(77);
    expect(d!.timestampType).toBe('LogAppendTime');
    expect(d!.records[0]!.timestamp).toBe(T0 + 999);
    expect(d!.records[0]!.offset).toBe(123456789012);
  });
});
