// ApiVersions negotiation: for each API, the highest version both the broker and this client know.
import { API_INFO } from '../protocol/generated/api-keys.js';

export interface VersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/**
 * Oldest versions this client is willing to speak, where older ones would need different
 * semantics than the client implements (e.g. Produce/Fetch before v3/v4 carry v0/v1 message sets).
 */
export const CLIENT_MIN_VERSION: Record<number, number> = {
  0: 3, // Produce: v2 record batches
  1: 4, // Fetch: v2 record batches, isolation level
  2: 1, // ListOffsets: single offset per partition
  3: 1, // Metadata: null topic list means all topics
  19: 2, // CreateTopics
};

/** Chosen version per API key; APIs with no common version are absent. */
export function negotiate(broker: VersionRange[], client: Record<number, { minVersion: number; maxVersion: number }> = API_INFO): Map<number, number> {
  const out = new Map<number, number>();
  for (const b of broker) {
    const c = client[b.apiKey];
    if (!c) continue;
    const lo = Math.max(b.minVersion, c.minVersion, CLIENT_MIN_VERSION[b.apiKey] ?? 0);
    const hi = Math.min(b.maxVersion, c.maxVersion);
    if (hi >= lo) out.set(b.apiKey, hi);
  }
  return out;
}
