// Schema pieces shared by the route plugins.
import { errorSchema } from './errors.js';
import { FORMATS } from './record-format.js';

/** Error responses a route declares, all with the one error shape. */
export function errorResponses(...codes: number[]): Record<number, typeof errorSchema & { description: string }> {
  const text: Record<number, string> = {
    400: 'Invalid input',
    401: 'Missing or unknown API token',
    403: 'Forbidden by broker config',
    404: 'Unknown topic, partition, group or consumer',
    409: 'Conflicts with current state',
    413: 'Request or record too large',
    422: 'Well-formed but rejected',
    503: 'Broker busy or shutting down',
  };
  const out: Record<number, typeof errorSchema & { description: string }> = {};
  for (const c of [401, ...codes]) out[c] = { ...errorSchema, description: text[c] ?? 'Error' };
  return out;
}

export const TOPIC_NAME = { type: 'string', minLength: 1, maxLength: 249, pattern: '^[a-zA-Z0-9._-]+$' } as const;
export const GROUP_ID = { type: 'string', minLength: 1, maxLength: 255 } as const;

export const topicParams = {
  type: 'object',
  required: ['topic'],
  properties: { topic: TOPIC_NAME },
} as const;

export const partitionParams = {
  type: 'object',
  required: ['topic', 'partition'],
  properties: { topic: TOPIC_NAME, partition: { type: 'integer', minimum: 0, maximum: 2147483647 } },
} as const;

export const groupParams = {
  type: 'object',
  required: ['group'],
  properties: { group: GROUP_ID },
} as const;

export const formatProp = { type: 'string', enum: [...FORMATS], default: 'json', description: 'How keys/values are written in JSON: json, text or base64 binary' } as const;

/** Limits, documented in the OpenAPI description and enforced by the routes. */
export const LIMITS = {
  produceBodyBytes: 8 * 1024 * 1024,
  defaultBodyBytes: 1024 * 1024,
  maxRecordsPerProduce: 10_000,
  maxReadRecords: 10_000,
  defaultReadRecords: 500,
  maxReadBytes: 64 * 1024 * 1024,
  defaultReadBytes: 1024 * 1024,
  maxPollTimeoutMs: 30_000,
};
