// Capture files: request frames exactly as a client wrote them (int32 size prefix + frame), back to back.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_INFO } from '../../broker/protocol/generated/api-keys.js';

export const CAPTURE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'captures');

export const API_NAMES: Record<number, string> = Object.fromEntries(Object.values(API_INFO).map((a) => [a.key, a.name]));

export interface CapturedFrame {
  /** The client that sent it (the capture file's name). */
  client?: string;
  apiKey: number;
  apiVersion: number;
  /** Frame without its size prefix: request header + body. */
  frame: Buffer;
}

export function encodeCaptureFile(frames: CapturedFrame[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const size = Buffer.alloc(4);
    size.writeInt32BE(f.frame.length, 0);
    parts.push(size, f.frame);
  }
  return Buffer.concat(parts);
}

export function decodeCaptureFile(bytes: Buffer, client?: string): CapturedFrame[] {
  const out: CapturedFrame[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const size = bytes.readInt32BE(pos);
    if (size < 8 || pos + 4 + size > bytes.length) throw new Error(`capture file ${client ?? ''} is damaged at byte ${pos}`);
    const frame = bytes.subarray(pos + 4, pos + 4 + size);
    out.push({ client, apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), frame });
    pos += 4 + size;
  }
  if (pos !== bytes.length) throw new Error(`capture file ${client ?? ''} has ${bytes.length - pos} trailing bytes`);
  return out;
}

/** Every frame of every captures/*.bin file. */
export function loadCaptures(dir = CAPTURE_DIR): CapturedFrame[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
  return files.flatMap((f) => decodeCaptureFile(readFileSync(path.join(dir, f)), path.basename(f, '.bin')));
}
