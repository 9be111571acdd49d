// Rendezvous (highest-random-weight) hashing: every broker computes the same owner for a key
// from the live set alone, and a change of membership moves only the keys it must.

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Finalizer of murmur3: spreads FNV's weak low bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function rendezvousWeight(key: string, nodeId: number): number {
  return mix(fnv1a(`${key}\u0000${nodeId}`));
}

/** The node with the highest weight for `key` (ties to the lower id); null for no nodes. */
export function rendezvousOwner(key: string, nodeIds: readonly number[]): number | null {
  let best: number | null = null;
  let bestWeight = -1;
  for (const id of nodeIds) {
    const w = rendezvousWeight(key, id);
    if (w > bestWeight || (w === bestWeight && best !== null && id < best)) {
      best = id;
      bestWeight = w;
    }
  }
  return best;
}
