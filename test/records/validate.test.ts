import { describe, expect, it } from 'vitest';
import { BATCH_LENGTH, Compression, CRC, RECORDS } from '../../broker/protocol/records/batch-header.js';
import { writeBatchCrc } from '../../broker/protocol/records/crc.js';
import { encodeBatchSync, type BatchInput } from '../../broker/protocol/records/records.js';
import {
  isValidationError,
  type ValidateOptions,
  validateProduceRecords,
  type ValidatedBatches,
  type ValidationError,
} from '../../broker/protocol/records/validate.js';
import { writeVarint } from '../../broker/protocol/records/varint.js';

const NOW = 1_700_000_000_000;
const OPTS: ValidateOptions = { maxMessageBytes: 1024 * 1024, timestampType: 'CreateTime', now: NOW };

function batch(input: Partial<BatchInput> = {}): Buffer {
  return encodeBatchSync({
    records: [
      { key: 'a', value: 'one', timestamp: NOW - 10 },
      { key: 'b', value: 'two', timestamp: NOW },
      { key: 'c', value: null, timestamp: NOW - 5 },
    ],
    ...input,
  });
}

/** Recomputes the CRC so a test reaches the check after it. */
function reseal(buf: Buffer): Buffer {
  writeBatchCrc(buf, 0, buf.length);
  return buf;
}

/** Same header, different records section; length and CRC fixed up. */
function withSection(base: Buffer, section: Buffer): Buffer {
  const out = Buffer.concat([base.subarray(0, RECORDS), section]);
  out.writeInt32BE(out.length - 12, BATCH_LENGTH);
  return reseal(out);
}

function err(r: ValidatedBatches | ValidationError): ValidationError {
  if (!isValidationError(r)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r;
}
function ok(r: ValidatedBatches | ValidationError): ValidatedBatches {
  if (isValidationError(r)) throw new Error(`expected success, got ${r.name}: ${r.message}`);
  return r;
}

describe('validateProduceRecords: accepted input', () => {
  it('returns layout, record count and the max record timestamp', () => {
    const buf = batch();
    const r = ok(validateProduceRecords(buf, OPTS));
    expect(r.recordCount).toBe(3);
    expect(r.maxTimestamp).toBe(NOW);
    expect(r.batches).toHaveLength(1);
    expect(r.batches[0]).toMatchObject({ pos: 0, size: buf.length });
    expect(r.batches[0]!.header.recordsCount).toBe(3);
  });

  it('accepts every codec, shallow and deep', () => {
    for (const codec of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
      const buf = batch({ compression: codec });
      expect(ok(validateProduceRecords(buf, OPTS)).recordCount).toBe(3);
      expect(ok(validateProduceRecords(buf, { ...OPTS, deepCheck: true })).maxTimestamp).toBe(NOW);
    }
  });

  it('reports now as the max timestamp on LogAppendTime topics and skips timestamp bounds', () => {
    const buf = batch({ records: [{ value: 'x', timestamp: 5 }] });
    const r = ok(validateProduceRecords(buf, { ...OPTS, timestampType: 'LogAppendTime', messageTimestampDifferenceMaxMs: 1000 }));
    expect(r.maxTimestamp).toBe(NOW);
  });
});

describe('validateProduceRecords: each error', () => {
  const cases: Array<[string, () => ReturnType<typeof validateProduceRecords>, number, RegExp?]> = [
    ['empty input', () => validateProduceRecords(Buffer.alloc(0), OPTS), 87, /at least one record batch/],
    ['trailing garbage', () => validateProduceRecords(Buffer.concat([batch(), Buffer.from([1, 2, 3])]), OPTS), 2, /trailing/],
    ['trailing partial batch', () => validateProduceRecords(Buffer.concat([batch(), batch().subarray(0, 40)]), OPTS), 2],
    ['truncated batch', () => validateProduceRecords(batch().subarray(0, 70), OPTS), 2, /declares/],
    [
      'batchLength below the header size',
      () => {
        const b = batch();
        b.writeInt32BE(48, BATCH_LENGTH);
        return validateProduceRecords(b, OPTS);
      },
      2,
      /illegal length/,
    ],
    [
      'old message format (magic 1)',
      () => {
        const b = batch();
        b[16] = 1;
        return validateProduceRecords(b, OPTS);
      },
      87,
      /magic version 2/,
    ],
    ['two batches', () => validateProduceRecords(Buffer.concat([batch(), batch()]), OPTS), 87, /exactly one record batch/],
    [
      'CRC mismatch',
      () => {
        const b = batch();
        b[b.length - 1] ^= 1;
        return validateProduceRecords(b, OPTS);
      },
      2,
      /crc/,
    ],
    ['batch over max.message.bytes', () => validateProduceRecords(batch(), { ...OPTS, maxMessageBytes: 60 }), 10],
    ['records over segment.bytes', () => validateProduceRecords(batch(), { ...OPTS, segmentBytes: 50 }), 18],
    [
      'unknown codec 5',
      () => {
        const b = batch();
        b.writeInt16BE(5, 21);
        return validateProduceRecords(reseal(b), OPTS);
      },
      76,
    ],
    ['zstd on produce v6', () => validateProduceRecords(batch({ compression: Compression.Zstd }), { ...OPTS, apiVersion: 6 }), 76],
    ['empty batch', () => validateProduceRecords(batch({ records: [] }), OPTS), 87, /offset range/],
    ['count != lastOffsetDelta + 1', () => validateProduceRecords(batch({ lastOffsetDelta: 5 }), OPTS), 87, /Inconsistent/],
    [
      'negative record count',
      () => {
        const b = batch();
        b.writeInt32BE(-1, 57);
        b.writeInt32BE(-2, 23);
        return validateProduceRecords(reseal(b), OPTS);
      },
      87,
    ],
    ['control batch from a client', () => validateProduceRecords(batch({ isControl: true }), OPTS), 87, /control/],
    ['producer id without a sequence', () => validateProduceRecords(batch({ producerId: 5, producerEpoch: 0 }), OPTS), 87, /sequence/],
    ['timestamp too old', () => validateProduceRecords(batch(), { ...OPTS, messageTimestampBeforeMaxMs: 7 }), 32],
    [
      'timestamp too far ahead',
      () => validateProduceRecords(batch({ records: [{ value: 'x', timestamp: NOW + 60_000 }] }), { ...OPTS, messageTimestampAfterMaxMs: 1000 }),
      32,
    ],
    [
      'difference.max.ms bounds both sides',
      () => validateProduceRecords(batch({ records: [{ value: 'x', timestamp: NOW + 60_000 }] }), { ...OPTS, messageTimestampDifferenceMaxMs: 1000 }),
      32,
    ],
    [
      'client-set LogAppendTime',
      () => validateProduceRecords(batch({ timestampType: 'LogAppendTime' }), { ...OPTS, timestampType: 'LogAppendTime' }),
      32,
      /LogAppendTime/,
    ],
    [
      'offset deltas not 0..n-1',
      () =>
        validateProduceRecords(
          batch({ records: [{ value: 'a', timestamp: NOW }, { value: 'b', offsetDelta: 2, timestamp: NOW }], lastOffsetDelta: 1 }),
          OPTS,
        ),
      87,
      /offset delta/,
    ],
    ['compacted topic, null key', () => validateProduceRecords(batch({ records: [{ value: 'x', timestamp: NOW }] }), { ...OPTS, compacted: true }), 87, /key/],
    [
      'bytes left after the last record',
      () => {
        const b = batch();
        return validateProduceRecords(withSection(b, Buffer.concat([b.subarray(RECORDS), Buffer.from([0])])), OPTS);
      },
      87,
      /remain/,
    ],
    [
      'record length past the batch end',
      () => {
        const b = batch();
        const section = Buffer.from(b.subarray(RECORDS));
        writeVarint(section, 0, 60); // first record claims 60 bytes; single-byte varint like the original
        return validateProduceRecords(withSection(b, section), OPTS);
      },
      87,
    ],
    [
      'fewer records than declared',
      () => {
        const b = batch();
        const first = b.subarray(RECORDS, RECORDS + 1 + b[RECORDS]! / 2);
        return validateProduceRecords(withSection(b, first), OPTS);
      },
      87,
      /declares 3 records/,
    ],
    [
      'corrupt compressed payload (deepCheck)',
      () => {
        const b = batch({ compression: Compression.Lz4 });
        b.fill(0x11, RECORDS + 8);
        return validateProduceRecords(reseal(b), { ...OPTS, deepCheck: true });
      },
      2,
    ],
    [
      'bad record inside a compressed batch (deepCheck)',
      () =>
        validateProduceRecords(
          batch({ compression: Compression.Zstd, records: [{ value: 'a', timestamp: NOW }, { value: 'b', offsetDelta: 3, timestamp: NOW }], lastOffsetDelta: 1 }),
          { ...OPTS, deepCheck: true },
        ),
      87,
    ],
    [
      'decompression bomb over the deepCheck limit',
      () =>
        validateProduceRecords(batch({ compression: Compression.Gzip, records: [{ value: Buffer.alloc(4 << 20), timestamp: NOW }] }), {
          ...OPTS,
          deepCheck: true,
          maxDecompressedBytes: 1 << 20,
        }),
      2,
    ],
    [
      'compressed batch, header timestamps out of range (shallow)',
      () => validateProduceRecords(batch({ compression: Compression.Snappy }), { ...OPTS, messageTimestampBeforeMaxMs: 1 }),
      32,
    ],
  ];

  for (const [name, run, code, msg] of cases) {
    it(`${name} -> ${code}`, () => {
      const e = err(run());
      expect(e.code).toBe(code);
      expect(typeof e.name).toBe('string');
      if (msg) expect(e.message).toMatch(msg);
    });
  }

  it('names the offending record', () => {
    const e = err(validateProduceRecords(batch(), { ...OPTS, messageTimestampBeforeMaxMs: 7 }));
    expect(e.name).toBe('INVALID_TIMESTAMP');
    expect(e.recordIndex).toBe(0);
    const e2 = err(validateProduceRecords(batch({ records: [{ key: 'k', value: 'x', timestamp: NOW }, { value: 'y', timestamp: NOW }] }), { ...OPTS, compacted: true }));
    expect(e2.recordIndex).toBe(1);
  });

  it('a bad record in a compressed batch passes the shallow check but not the deep one', () => {
    const b = batch({ compression: Compression.Gzip, records: [{ value: 'x', timestamp: NOW }] });
    expect(isValidationError(validateProduceRecords(b, { ...OPTS, compacted: true }))).toBe(false);
    expect(err(validateProduceRecords(b, { ...OPTS, compacted: true, deepCheck: true })).code).toBe(87);
  });
});

/** Deterministic PRNG so a failing mutation can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('validateProduceRecords never throws', () => {
  it('returns a ValidationError or a result for thousands of mutated batches', async () => {
    const { decodeBatchesSync } = await import('../../broker/protocol/records/records.js');
    const { RecordsError } = await import('../../broker/protocol/records/errors.js');
    const rand = rng(20240601);
    const int = (n: number) => Math.floor(rand() * n);
    const seeds: Buffer[] = [];
    for (const codec of [0, 0, 0, 1, 2, 3, 4]) {
      seeds.push(
        batch({
          compression: codec,
          records: Array.from({ length: 1 + int(6) }, (_, i) => ({
            key: i % 3 === 0 ? null : `key-${i}`,
            value: i % 4 === 3 ? null : 'v'.repeat(int(300)),
            headers: i % 2 ? [{ key: `h${i}`, value: i % 3 ? 'hv' : null }] : [],
            timestamp: NOW - int(1000),
          })),
        }),
      );
    }
    const known = new Set([2, 10, 18, 32, 76, 87]);
    let accepted = 0;
    const ITER = 6000;
    for (let i = 0; i < ITER; i++) {
      let m = Buffer.from(seeds[int(seeds.length)]!);
      const kind = int(6);
      if (kind === 0) {
        for (let k = 1 + int(4); k > 0; k--) m[int(m.length)] = int(256);
      } else if (kind === 1) {
        m = m.subarray(0, int(m.length));
      } else if (kind === 2) {
        const at = int(m.length);
        m = Buffer.concat([m.subarray(0, at), Buffer.from([int(256)]), m.subarray(at)]);
      } else if (kind === 3) {
        const at = int(m.length);
        m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + int(3))]);
      } else if (kind === 4) {
        // Header fields the checks key on: attributes, counts, deltas, timestamps.
        const at = [21, 22, 23, 26, 30, 40, 57, 60][int(8)]!;
        m[at] = int(256);
      } else {
        // Inside the records section, where varints live.
        if (m.length > RECORDS) m[RECORDS + int(m.length - RECORDS)] = int(256);
      }
      // Most cases keep a valid CRC and length so the deeper checks run, not just the CRC.
      if (rand() < 0.8 && m.length >= RECORDS) {
        m.writeInt32BE(m.length - 12, BATCH_LENGTH);
        writeBatchCrc(m, 0, m.length);
      } else if (rand() < 0.5 && m.length >= CRC + 4) {
        m.writeUInt32BE(int(2 ** 32), CRC);
      }
      const opts = { ...OPTS, deepCheck: rand() < 0.5, messageTimestampBeforeMaxMs: 1e6, maxDecompressedBytes: 1 << 20 };
      let r: ValidatedBatches | ValidationError;
      try {
        r = validateProduceRecords(m, opts);
      } catch (e) {
        throw new Error(`mutation ${i} threw: ${String(e)}; input ${m.toString('base64')}`);
      }
      if (isValidationError(r)) {
        expect(known.has(r.code), `unexpected code ${r.code}: ${r.message}`).toBe(true);
        expect(r.message.length).toBeGreaterThan(0);
      } else {
        accepted++;
        expect(r.batches[0]!.size).toBe(m.length);
      }
      // The decoder may refuse but only with RecordsError; and what a deep check accepts, it decodes.
      try {
        const d = decodeBatchesSync(m, { maxDecompressedBytes: 1 << 20 });
        if (!isValidationError(r)) expect(d[0]!.records.length).toBe(r.recordCount);
      } catch (e) {
        expect(e instanceof RecordsError, `decoder threw ${String(e)}`).toBe(true);
        if (!isValidationError(r) && opts.deepCheck) throw new Error(`deep-validated input failed to decode: ${String(e)}`);
      }
    }
    console.log(`mutation test: ${accepted} of ${ITER} mutated inputs accepted, the rest rejected with a code`);
    // Sanity: the mutations are not all trivially rejected, nor all accepted.
    expect(accepted).toBeGreaterThan(50);
    expect(accepted).toBeLessThan(ITER / 2);
  });
});

describe('validateProduceRecords throughput', () => {
  it('measures MB/s on a 1 MiB batch of 1 KiB records', () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ key: `key-${i}`, value: Buffer.alloc(1024 - 24, i & 0xff), timestamp: NOW }));
    const report: string[] = [];
    for (const [label, codec, deep] of [
      ['none', Compression.None, false],
      ['lz4 shallow', Compression.Lz4, false],
      ['lz4 deep', Compression.Lz4, true],
      ['zstd deep', Compression.Zstd, true],
    ] as const) {
      const buf = batch({ records, compression: codec });
      const opts = { ...OPTS, maxMessageBytes: 2 << 20, deepCheck: deep };
      expect(ok(validateProduceRecords(buf, opts)).recordCount).toBe(1000);
      const rounds = 200;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) validateProduceRecords(buf, opts);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const uncompressed = 1000 * 1024;
      const wire = ((buf.length * rounds) / secs / 1e6).toFixed(0);
      const data = ((uncompressed * rounds) / secs / 1e6).toFixed(0);
      report.push(`${label}: batch ${buf.length} B, ${wire} MB/s of batch bytes, ${data} MB/s of record data`);
    }
    console.log(`validateProduceRecords throughput\n  ${report.join('\n  ')}`);
  });
});
