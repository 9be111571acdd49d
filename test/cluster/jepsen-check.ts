// The fault test's verdicts beyond the producer's (crash-check.ts): what consumers and readers were
// served, the committed offsets they resumed from, and the epoch manifest. Pure, so its own test
// can feed it broken histories.
import type { ManifestEpoch } from '../../broker/cluster/control-store.js';

/** Things that happened to consumers, in the order the test observed them. */
export type ConsumerEvent =
  | { kind: 'join'; consumer: number; partitions: number[] }
  | { kind: 'delivery'; consumer: number; partition: number; offset: number; value: string | null }
  | { kind: 'commit'; consumer: number; partition: number; offset: number };

/** The final log of one partition: value per offset, below the high watermark. */
export interface FinalPartition {
  highWatermark: number;
  values: Map<number, string | null>;
}

export interface ConsumerStats {
  deliveries: number;
  redeliveries: number;
  resumes: number;
  commits: number;
}

/**
 * Violations of: every served record is the record the final log holds at that offset (nothing
 * past a sealed end, nothing a fenced writer left behind); no consumer skips an offset; no commit
 * passes an offset no member was given; a member
 * that (re)joins resumes a partition at or after the last acknowledged commit; the final committed
 * offset is not below any acknowledged commit; every record is delivered at least once.
 */
export function checkConsumers(events: readonly ConsumerEvent[], final: ReadonlyMap<number, FinalPartition>, finalCommitted: ReadonlyMap<number, number>): { violations: string[]; stats: ConsumerStats } {
  const out: string[] = [];
  const stats: ConsumerStats = { deliveries: 0, redeliveries: 0, resumes: 0, commits: 0 };
  const next = new Map<number, number>(); // highest delivered offset + 1, any consumer
  const acked = new Map<number, number>(); // highest acknowledged commit
  const delivered = new Map<number, Set<number>>();
  /** Per partition: every offset below this was delivered to some member. */
  const consumedPrefix = new Map<number, number>();
  /** Per consumer: partitions whose first delivery since its last join is still to come, with the commit then. */
  const resumeAt = new Map<number, Map<number, number>>();
  for (const e of events) {
    if (e.kind === 'join') {
      resumeAt.set(e.consumer, new Map(e.partitions.map((p) => [p, acked.get(p) ?? 0])));
      continue;
    }
    if (e.kind === 'commit') {
      stats.commits++;
      // Committed means consumed: a commit past an offset no member was given loses it.
      const prefix = consumedPrefix.get(e.partition) ?? 0;
      if (e.offset > prefix) out.push(`p${e.partition}: consumer ${e.consumer} committed ${e.offset} but offset ${prefix} was never delivered`);
      acked.set(e.partition, Math.max(acked.get(e.partition) ?? 0, e.offset));
      continue;
    }
    stats.deliveries++;
    const f = final.get(e.partition);
    if (!f || e.offset >= f.highWatermark) out.push(`p${e.partition}: consumer ${e.consumer} was served offset ${e.offset}, past the final high watermark ${f?.highWatermark}`);
    else if (!f.values.has(e.offset) || f.values.get(e.offset) !== e.value) {
      out.push(`p${e.partition}: consumer ${e.consumer} was served ${JSON.stringify(e.value?.slice(0, 30))} at offset ${e.offset}, the log holds ${JSON.stringify(f.values.get(e.offset)?.slice(0, 30))}`);
    }
    const n = next.get(e.partition) ?? 0;
    if (e.offset > n) out.push(`p${e.partition}: consumer ${e.consumer} skipped offsets ${n}..${e.offset - 1}`);
    if (e.offset < n) stats.redeliveries++;
    next.set(e.partition, Math.max(n, e.offset + 1));
    const pending = resumeAt.get(e.consumer);
    const committed = pending?.get(e.partition);
    if (committed !== undefined) {
      pending!.delete(e.partition);
      stats.resumes++;
      if (e.offset < committed) out.push(`p${e.partition}: consumer ${e.consumer} resumed at ${e.offset}, below the acknowledged commit ${committed}`);
    }
    let set = delivered.get(e.partition);
    if (!set) delivered.set(e.partition, (set = new Set()));
    set.add(e.offset);
    let prefix = consumedPrefix.get(e.partition) ?? 0;
    while (set.has(prefix)) prefix++;
    consumedPrefix.set(e.partition, prefix);
  }
  for (const [p, f] of final) {
    const set = delivered.get(p) ?? new Set<number>();
    let missing = 0;
    let first = -1;
    for (let o = 0; o < f.highWatermark; o++) {
      if (!set.has(o)) {
        missing++;
        if (first < 0) first = o;
      }
    }
    if (missing > 0) out.push(`p${p}: ${missing} of ${f.highWatermark} records never delivered to the group (first at offset ${first})`);
    const c = finalCommitted.get(p) ?? -1;
    const a = acked.get(p) ?? 0;
    if (c < a) out.push(`p${p}: final committed offset ${c} is below the acknowledged commit ${a}`);
  }
  return { violations: out, stats };
}

/** A record a reader was served during the run (any broker, any time). */
export interface ServedRecord {
  partition: number;
  offset: number;
  value: string | null;
  node: number;
}

export function checkServed(served: readonly ServedRecord[], final: ReadonlyMap<number, FinalPartition>): string[] {
  const out: string[] = [];
  for (const r of served) {
    const f = final.get(r.partition);
    if (!f || r.offset >= f.highWatermark) out.push(`p${r.partition}: node ${r.node} served offset ${r.offset}, past the final high watermark ${f?.highWatermark}`);
    else if (f.values.get(r.offset) !== r.value) out.push(`p${r.partition}: node ${r.node} served ${JSON.stringify(r.value?.slice(0, 30))} at ${r.offset}; the log holds ${JSON.stringify(f.values.get(r.offset)?.slice(0, 30))}`);
  }
  return out;
}

/**
 * The manifest must chain (each epoch starts where the previous one was sealed, only the last is
 * open), and every stored batch must carry the epoch whose range holds its offset: a batch of an
 * older epoch past that epoch's seal is a fenced writer's, and must never be served.
 */
export function checkManifest(p: number, epochs: readonly ManifestEpoch[], batches: ReadonlyArray<{ baseOffset: number; lastOffset: number; epoch: number }>, highWatermark: number): string[] {
  const out: string[] = [];
  if (epochs.length === 0) return [`p${p}: no manifest`];
  for (let i = 0; i < epochs.length; i++) {
    const e = epochs[i]!;
    const nx = epochs[i + 1];
    if (nx === undefined) {
      if (e.endOffset !== null) out.push(`p${p}: last epoch ${e.epoch} is sealed at ${e.endOffset}`);
      if (e.startOffset > highWatermark) out.push(`p${p}: open epoch ${e.epoch} starts at ${e.startOffset}, past the high watermark ${highWatermark}`);
      continue;
    }
    if (nx.epoch <= e.epoch) out.push(`p${p}: epoch ${nx.epoch} follows epoch ${e.epoch}`);
    if (e.endOffset === null) out.push(`p${p}: epoch ${e.epoch} is not sealed though epoch ${nx.epoch} follows`);
    else {
      if (e.endOffset < e.startOffset) out.push(`p${p}: epoch ${e.epoch} ends at ${e.endOffset} before its start ${e.startOffset}`);
      if (nx.startOffset !== e.endOffset) out.push(`p${p}: epoch ${nx.epoch} starts at ${nx.startOffset}, epoch ${e.epoch} was sealed at ${e.endOffset}`);
    }
  }
  const owner = (offset: number): number | undefined => {
    for (let i = epochs.length - 1; i >= 0; i--) {
      const e = epochs[i]!;
      if (offset >= e.startOffset && (e.endOffset === null || offset < e.endOffset)) return e.epoch;
    }
    return undefined;
  };
  for (const b of batches) {
    for (const o of [b.baseOffset, b.lastOffset]) {
      const e = owner(o);
      if (e === undefined) out.push(`p${p}: offset ${o} lies in no epoch of the manifest`);
      else if (e !== b.epoch) out.push(`p${p}: batch at ${b.baseOffset}..${b.lastOffset} was written in epoch ${b.epoch}, but offset ${o} belongs to epoch ${e}`);
    }
  }
  return out;
}
