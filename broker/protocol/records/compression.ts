// Codecs for v2 batch payloads. Every decompressor takes an output limit so a tiny hostile
// payload cannot make the broker allocate gigabytes.

import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import lz4 from 'lz4-napi';
import * as zstd from 'zstd-napi';
// binding.js assigns module.exports dynamically, so ESM sees only its default export.
import zstdBinding from 'zstd-napi/binding.js';
import { Compression } from './batch-header.js';
import { corrupt, RecordsError, UNSUPPORTED_COMPRESSION_TYPE } from './errors.js';
import { lz4FrameBound } from './lz4-frame.js';
import { snappyCompress, snappyCompressSync, snappyDecompress, snappyDecompressSync } from './snappy-xerial.js';

export { Compression };

export interface DecompressOptions {
  /** Reject output larger than this (CORRUPT_MESSAGE). Default: no limit beyond Buffer's. */
  maxBytes?: number;
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

function unsupported(codec: number): RecordsError {
  return new RecordsError(UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codec}`);
}

function limitOf(opts?: DecompressOptions): number {
  const max = opts?.maxBytes;
  return max === undefined ? Number.MAX_SAFE_INTEGER : max;
}

/** Turns library exceptions into CORRUPT_MESSAGE so callers see one error type. */
function wrap(codec: number, err: unknown): RecordsError {
  if (err instanceof RecordsError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return corrupt(`failed to decompress ${Compression[codec] ?? codec} data: ${msg}`);
}

function gzipOptions(maxBytes: number): zlib.ZlibOptions {
  return maxBytes < bufferConstants.MAX_LENGTH ? { maxOutputLength: Math.max(1, maxBytes) } : {};
}

let dctx: InstanceType<typeof zstdBinding.DCtx> | undefined;

function zstdDecompressSync(data: Buffer, maxBytes: number): Buffer {
  if (data.length === 0) throw corrupt('zstd data is empty');
  dctx ??= new zstdBinding.DCtx();
  // Fast path: every frame declares its size, so allocate once and decode in one call.
  let declared: number | null = 0;
  for (let frame = data; frame.length > 0 && declared !== null; ) {
    const size = zstdBinding.getFrameContentSize(frame);
    declared = size === null ? null : declared + size;
    frame = frame.subarray(zstdBinding.findFrameCompressedSize(frame));
  }
  if (declared !== null) {
    if (declared > maxBytes) throw corrupt(`zstd data declares ${declared} bytes, more than ${maxBytes}`);
    dctx.reset(zstdBinding.ResetDirective.sessionOnly);
    const out = Buffer.allocUnsafe(declared);
    const n = dctx.decompress(out, data);
    if (n !== declared) throw corrupt('zstd frame size does not match its header');
    return out;
  }
  dctx.reset(zstdBinding.ResetDirective.sessionOnly);
  const parts: Buffer[] = [];
  let total = 0;
  let rest = data;
  let pending = 1;
  while (rest.length > 0 || pending !== 0) {
    const chunk = Buffer.allocUnsafe(Math.max(zstdBinding.dStreamOutSize(), Math.min(rest.length, maxBytes)));
    const [hint, produced, consumed] = dctx.decompressStream(chunk, rest);
    if (produced === 0 && consumed === 0) throw corrupt('zstd data is truncated');
    total += produced;
    if (total > maxBytes) throw corrupt(`zstd data decompresses to more than ${maxBytes} bytes`);
    parts.push(chunk.subarray(0, produced));
    rest = rest.subarray(consumed);
    pending = hint;
  }
  return Buffer.concat(parts, total);
}

function lz4DecompressSync(data: Buffer, maxBytes: number): Buffer {
  // Over the bound the output may still fit; the bound is at most ~256x the input, so decoding
  // and then checking cannot explode.
  const bound = lz4FrameBound(data);
  const out = lz4.decompressFrameSync(data);
  if (bound > maxBytes && out.length > maxBytes) {
    throw corrupt(`lz4 data decompresses to more than ${maxBytes} bytes`);
  }
  return out;
}

export function decompressSync(codec: Compression | number, data: Buffer, opts?: DecompressOptions): Buffer {
  const maxBytes = limitOf(opts);
  try {
    switch (codec) {
      case Compression.None:
        return data;
      case Compression.Gzip:
        return zlib.gunzipSync(data, gzipOptions(maxBytes));
      case Compression.Snappy:
        return snappyDecompressSync(data, maxBytes);
      case Compression.Lz4:
        return lz4DecompressSync(data, maxBytes);
      case Compression.Zstd:
        return zstdDecompressSync(data, maxBytes);
      default:
        throw unsupported(codec);
    }
  } catch (err) {
    throw wrap(codec, err);
  }
}

export async function decompress(codec: Compression | number, data: Buffer, opts?: DecompressOptions): Promise<Buffer> {
  const maxBytes = limitOf(opts);
  try {
    switch (codec) {
      case Compression.Gzip:
        return await gunzipAsync(data, gzipOptions(maxBytes));
      case Compression.Snappy:
        return await snappyDecompress(data, maxBytes);
      case Compression.Lz4:
        if (lz4FrameBound(data) <= maxBytes) return await lz4.decompressFrame(data);
        return lz4DecompressSync(data, maxBytes);
      default:
        // zstd-napi has no async API; None is a no-op.
        return decompressSync(codec, data, opts);
    }
  } catch (err) {
    throw wrap(codec, err);
  }
}

export function compressSync(codec: Compression | number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return zlib.gzipSync(data);
    case Compression.Snappy:
      return snappyCompressSync(data);
    case Compression.Lz4:
      return lz4.compressFrameSync(data);
    case Compression.Zstd:
      return zstd.compress(data);
    default:
      throw unsupported(codec);
  }
}

export async function compress(codec: Compression | number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case Compression.Gzip:
      return gzipAsync(data);
    case Compression.Snappy:
      return snappyCompress(data);
    case Compression.Lz4:
      return lz4.compressFrame(data);
    default:
      return compressSync(codec, data);
  }
}
