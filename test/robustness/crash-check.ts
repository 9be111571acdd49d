// The crash test's verdict on one partition, kept pure so its own test can feed it broken logs.

export interface Ack {
  /** Producer sequence of the record (also written in its value). */
  seq: number;
  /** Offset the Produce response assigned (baseOffset + index in batch). */
  offset: number;
}

export interface StoredRecord {
  offset: number;
  value: Buffer | null;
  producerId: number;
  /** baseSequence of its batch + its index in the batch. */
  batchSeq: number;
}

export const valueOf = (p: number, seq: number): string => `p${p}:s${seq}:${'x'.repeat(seq % 97)}`;

export function parseValue(v: Buffer | null): { p: number; seq: number } | null {
  const m = v ? /^p(\d+):s(\d+):/.exec(v.toString('utf8')) : null;
  return m ? { p: Number(m[1]), seq: Number(m[2]) } : null;
}

/**
 * Violations of: every acknowledged record stored exactly once, where its ack said, in ack order;
 * offsets dense from 0; nothing stored that was never acknowledged (the producer drained); the
 * high watermark equal to the number of acknowledged records.
 */
export function checkPartition(p: number, producerId: number, acks: readonly Ack[], stored: readonly StoredRecord[], highWatermark: number): string[] {
  const out: string[] = [];
  const seqs: number[] = [];
  stored.forEach((r, i) => {
    const v = parseValue(r.value);
    if (!v || v.p !== p) out.push(`partition ${p}: offset ${r.offset} holds foreign value ${r.value?.toString('utf8').slice(0, 40)}`);
    const seq = v?.seq ?? -1;
    seqs.push(seq);
    if (r.offset !== i) out.push(`partition ${p}: record #${i} has offset ${r.offset} (offsets must be dense from 0)`);
    if (r.producerId !== producerId) out.push(`partition ${p}: offset ${r.offset} has producer id ${r.producerId}, expected ${producerId}`);
    if (r.batchSeq !== seq) out.push(`partition ${p}: offset ${r.offset} holds seq ${seq} but its batch says sequence ${r.batchSeq}`);
  });
  const counts = new Map<number, number>();
  for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
  for (const [seq, n] of counts) if (n > 1) out.push(`partition ${p}: seq ${seq} stored ${n} times`);
  const offsetOf = new Map(stored.map((r, i) => [seqs[i]!, r.offset]));
  let last = -1;
  for (const a of acks) {
    const at = offsetOf.get(a.seq);
    if (at === undefined) out.push(`partition ${p}: acknowledged seq ${a.seq} (offset ${a.offset}) is missing`);
    else if (at !== a.offset) out.push(`partition ${p}: seq ${a.seq} acknowledged at offset ${a.offset} but stored at ${at}`);
    else if (at <= last) out.push(`partition ${p}: seq ${a.seq} at offset ${at} is out of acknowledgement order`);
    if (at !== undefined) last = at;
  }
  const acked = new Set(acks.map((a) => a.seq));
  stored.forEach((r, i) => {
    if (!acked.has(seqs[i]!)) out.push(`partition ${p}: offset ${r.offset} holds seq ${seqs[i]}, never acknowledged`);
  });
  if (highWatermark !== acks.length) out.push(`partition ${p}: high watermark ${highWatermark}, acknowledged ${acks.length}`);
  return out;
}
