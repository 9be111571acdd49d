import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import snappy from 'snappy';
import { Compressor as ZstdCompressor } from 'zstd-napi';
import { describe, expect, it } from 'vitest';
import { Compression, compress, compressSync, decompress, decompressSync } from '../../broker/protocol/records/compression.js';
import { RecordsError } from '../../broker/protocol/records/errors.js';
import { RECORDS } from '../../broker/protocol/records/batch-header.js';
import { isXerialFramed } from '../../broker/protocol/records/snappy-xerial.js';
import { KAFKAJS_ZSTD_BATCH } from './fixtures.js';

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const text = Buffer.from('floe '.repeat(50_000)); // compressible, 250 kB: several snappy/lz4 blocks
const noise = randomBytes(100_000);

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof RecordsError ? e.code : -1;
  }
  return undefined;
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await fn();
  } catch (e) {
    return e instanceof RecordsError ? e.code : -1;
  }
  return undefined;
}

describe('compression codecs', () => {
  for (const codec of CODECS) {
    it(`${Compression[codec]} round-trips sync and async, in both directions`, async () => {
      for (const data of [text, noise, Buffer.from('x')]) {
        const a = await compress(codec, data);
        const s = compressSync(codec, data);
        expect(decompressSync(codec, a).equals(data)).toBe(true);
        expect((await decompress(codec, s)).equals(data)).toBe(true);
        if (codec !== Compression.None && data === text) expect(a.length).toBeLessThan(data.length / 10);
      }
    });
  }

  it('writes snappy in xerial framing with 32 KiB blocks and reads raw snappy too', async () => {
    const framed = compressSync(Compression.Snappy, text);
    expect(isXerialFramed(framed)).toBe(true);
    expect(framed.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    // 250000 bytes in 32768-byte blocks -> 8 blocks.
    let blocks = 0;
    for (let pos = 16; pos < framed.length; blocks++) pos += 4 + framed.readInt32BE(pos);
    expect(blocks).toBe(8);
    const raw = snappy.compressSync(text);
    expect(isXerialFramed(raw)).toBe(false);
    expect(decompressSync(Compression.Snappy, raw).equals(text)).toBe(true);
    expect((await decompress(Compression.Snappy, raw)).equals(text)).toBe(true);
  });

  it('writes lz4 in the frame format with independent blocks (what Kafka reads)', () => {
    const out = compressSync(Compression.Lz4, text);
    expect(out.readUInt32LE(0)).toBe(0x184d2204);
    expect(out[4]! & 0xc0).toBe(0x40); // version 01
    expect(out[4]! & 0x20).toBe(0x20); // block independence
  });

  it('decompresses a zstd frame written by another client (kafkajs vector)', () => {
    const out = decompressSync(Compression.Zstd, KAFKAJS_ZSTD_BATCH.subarray(RECORDS));
    expect(out.length).toBe(459);
    expect(out.includes(Buffer.from('Lorem ipsum dolor sit amet'))).toBe(true);
  });

  it('rejects unknown codecs 5..7 with UNSUPPORTED_COMPRESSION_TYPE', async () => {
    for (const codec of [5, 6, 7]) {
      expect(codeOf(() => decompressSync(codec, text))).toBe(76);
      expect(codeOf(() => compressSync(codec, text))).toBe(76);
      expect(await asyncCodeOf(() => decompress(codec, text))).toBe(76);
      expect(await asyncCodeOf(() => compress(codec, text))).toBe(76);
    }
  });

  for (const codec of CODECS.slice(1)) {
    it(`${Compression[codec]}: corrupt or truncated input is CORRUPT_MESSAGE, never a crash`, async () => {
      const good = compressSync(codec, text);
      const truncated = good.subarray(0, good.length >> 1);
      expect(codeOf(() => decompressSync(codec, truncated))).toBe(2);
      expect(await asyncCodeOf(() => decompress(codec, truncated))).toBe(2);
      expect(codeOf(() => decompressSync(codec, Buffer.alloc(0)))).toBe(2);
      expect(codeOf(() => decompressSync(codec, noise))).toBe(2);
    });

    it(`${Compression[codec]}: enforces maxBytes against decompression bombs`, async () => {
      const bomb = compressSync(codec, Buffer.alloc(8 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(1024 * 1024);
      expect(codeOf(() => decompressSync(codec, bomb, { maxBytes: 1024 * 1024 }))).toBe(2);
      expect(await asyncCodeOf(() => decompress(codec, bomb, { maxBytes: 1024 * 1024 }))).toBe(2);
      expect(decompressSync(codec, bomb, { maxBytes: 8 * 1024 * 1024 }).length).toBe(8 * 1024 * 1024);
    });
  }

  it('zstd frames without a declared size take the streaming path, with the limit and truncation checks', () => {
    const z = new ZstdCompressor();
    z.setParameters({ contentSizeFlag: false, checksumFlag: true });
    const big = Buffer.concat([text, noise, text]);
    const frame = z.compress(big);
    expect(decompressSync(Compression.Zstd, frame).equals(big)).toBe(true);
    const two = Buffer.concat([frame, z.compress(Buffer.from('tail'))]);
    expect(decompressSync(Compression.Zstd, two).equals(Buffer.concat([big, Buffer.from('tail')]))).toBe(true);
    expect(codeOf(() => decompressSync(Compression.Zstd, frame, { maxBytes: 100_000 }))).toBe(2);
    expect(codeOf(() => decompressSync(Compression.Zstd, frame.subarray(0, frame.length - 3)))).toBe(2);
  });

  it('accepts multi-member gzip, as Java GZIPInputStream does', () => {
    const two = Buffer.concat([zlib.gzipSync('ab'), zlib.gzipSync('cd')]);
    expect(decompressSync(Compression.Gzip, two).toString()).toBe('abcd');
  });
});
