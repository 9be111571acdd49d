// Request/response framing around the generated message codecs. Sans-I/O: bytes in, bytes out.
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { readRequestHeader } from './generated/request-header.js';
import { API_INFO } from './generated/api-keys.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

const API_VERSIONS_KEY = 18;

/** True when `version` of API `apiKey` uses flexible (compact + tagged) encoding. */
export function isFlexible(apiKey: number, version: number): boolean {
  const info = API_INFO[apiKey];
  return info !== undefined && info.flexibleFrom >= 0 && version >= info.flexibleFrom;
}

/**
 * Reads the request header. apiKey/apiVersion/correlationId are read first on their own so that
 * even a request for an unknown API or version can be answered with its correlation id.
 */
export function readHeader(frame: Buffer): { header: RequestHeader; body: Reader } {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  r.pos = 0;
  const flex = isFlexible(apiKey, apiVersion);
  const h = readRequestHeader(r, flex ? 2 : 1);
  return { header: { apiKey, apiVersion, correlationId, clientId: h.clientId }, body: r };
}

/** Peeks the fixed part of the header without validating the rest. */
export function peekHeader(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } | null {
  if (frame.length < 8) return null;
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) };
}

/** Starts a response: writes the response header (v1 for flexible APIs, except ApiVersions). */
export function responseWriter(apiKey: number, apiVersion: number, correlationId: number): Writer {
  const w = new Writer(512);
  w.int32(correlationId);
  if (apiKey !== API_VERSIONS_KEY && isFlexible(apiKey, apiVersion)) w.uvarint(0);
  return w;
}
