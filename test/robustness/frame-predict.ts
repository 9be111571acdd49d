// Predicts, with the broker's own header and request decoders, whether a frame will be parsed
// (answered) or refused (connection closed). The fuzzer uses it to put at most one expected closer
// at the end of each pipelined chunk, and to keep partition floods out (see the report).
import { readHeader } from '../../broker/protocol/frame.js';
import { HANDLERS } from '../../broker/handlers/registry.js';
import type { CreateTopicsRequest } from '../../broker/protocol/generated/create-topics.js';
import type { CreatePartitionsRequest } from '../../broker/protocol/generated/create-partitions.js';

export interface Prediction {
  /** False when the broker cannot parse it and should close the connection. */
  parses: boolean;
  /** Partitions a parseable CreateTopics/CreatePartitions would create. */
  partitions: number;
}

const byKey = new Map(HANDLERS.map((h) => [h.apiKey, h]));

export function predict(frame: Buffer): Prediction {
  if (frame.length < 8) return { parses: false, partitions: 0 };
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const h = byKey.get(apiKey);
  // Unknown API or version: ApiVersions answers in v0 (KIP-511); anything else closes, as in Kafka.
  if (!h || apiVersion < h.minVersion || apiVersion > h.maxVersion) return { parses: apiKey === 18, partitions: 0 };
  let req: unknown;
  try {
    const { body } = readHeader(frame);
    req = h.read(body, apiVersion);
  } catch {
    return { parses: false, partitions: 0 };
  }
  let partitions = 0;
  if (apiKey === 19) for (const t of (req as CreateTopicsRequest).topics) partitions += Math.max(0, t.numPartitions);
  if (apiKey === 37) for (const t of (req as CreatePartitionsRequest).topics) partitions += Math.max(0, t.count);
  return { parses: true, partitions };
}
