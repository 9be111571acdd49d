// How record keys, values and header values travel in JSON bodies:
//   json   - any JSON value, stored as its UTF-8 JSON text
//   text   - a string, stored as UTF-8
//   binary - a base64 string, stored as the decoded bytes
// null is a null key/value (a tombstone for values) in every format.
import type { Record as KafkaRecord } from '../../broker/protocol/records/records.js';
import { badRequest, unprocessable } from './errors.js';

export const FORMATS = ['json', 'text', 'binary'] as const;
export type RecordFormat = (typeof FORMATS)[number];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes for one key/value/header value; `where` names it in the error message. */
export function encodeField(v: unknown, format: RecordFormat, where: string): Buffer | null {
  if (v === null || v === undefined) return null;
  switch (format) {
    case 'json':
      return Buffer.from(JSON.stringify(v), 'utf8');
    case 'text':
      if (typeof v !== 'string') throw badRequest(`${where} must be a string with format=text`);
      return Buffer.from(v, 'utf8');
    case 'binary':
      if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) throw badRequest(`${where} must be base64 with format=binary`);
      return Buffer.from(v, 'base64');
  }
}

/** Header values are strings: base64 with format=binary, UTF-8 text otherwise. */
export function encodeHeader(v: string | null, format: RecordFormat, where: string): Buffer | null {
  return encodeField(v, format === 'binary' ? 'binary' : 'text', where);
}

export function decodeField(b: Buffer | null, format: RecordFormat, where: string): unknown {
  if (b === null) return null;
  switch (format) {
    case 'json':
      try {
        return JSON.parse(b.toString('utf8')) as unknown;
      } catch {
        throw unprocessable(`${where} is not JSON; read it with format=text or format=binary`);
      }
    case 'text':
      return b.toString('utf8');
    case 'binary':
      return b.toString('base64');
  }
}

export interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Array<{ key: string; value: string | null }>;
}

export function toJsonRecord(topic: string, partition: number, r: KafkaRecord, format: RecordFormat): JsonRecord {
  const at = `record ${topic}/${partition}@${r.offset}`;
  return {
    topic,
    partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: decodeField(r.key, format, `key of ${at}`),
    value: decodeField(r.value, format, `value of ${at}`),
    headers: r.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : format === 'binary' ? h.value.toString('base64') : h.value.toString('utf8'),
    })),
  };
}

/** Response schema of one record (key/value are any JSON). */
export const recordSchema = {
  type: 'object',
  required: ['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers'],
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'integer' },
    timestamp: { type: 'integer' },
    key: {},
    value: {},
    headers: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: ['string', 'null'] } } } },
  },
} as const;
