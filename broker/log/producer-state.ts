import { CONTROL_BIT, TRANSACTIONAL_BIT } from '../protocol/records/batch-header.js';
import { LogError } from './errors.js';

/** Header fields of one batch that producer-state tracking needs. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  attributes: number;
  maxTimestamp: number;
}

interface BatchRecord {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  /** First offset of the open transaction, -1 when none. */
  currentTxnStartOffset: number;
  lastTimestamp: number;
  /** The last (up to) 5 batches of the current epoch, oldest first: duplicate detection. */
  batches: BatchRecord[];
}

export interface ProducerInfo {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  currentTxnStartOffset: number;
}

const INT32_MAX = 0x7fffffff;
const MAX_BATCHES = 5;

/** baseSequence + delta with int32 wrap-around, as the producer numbers them. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

function nextSequence(seq: number): number {
  return seq === INT32_MAX ? 0 : seq + 1;
}

function isControl(b: ProducerBatch): boolean {
  return (b.attributes & CONTROL_BIT) !== 0;
}

/** Idempotent-producer state per partition: epochs, sequences and recent batches. */
export class ProducerStateManager {
  private readonly entries = new Map<number, ProducerEntry>();

  /**
   * Validates an append's batches against the current state without changing it. Returns the
   * original offsets when every batch is a retry of one of the producer's last 5 batches.
   */
  check(batches: readonly ProducerBatch[]): { firstOffset: number; lastOffset: number } | null {
    // Epoch and last sequence as earlier batches of this same append would leave them.
    const pending = new Map<number, { epoch: number; lastSeq: number }>();
    const dups: BatchRecord[] = [];
    let idempotent = 0;
    for (const b of batches) {
      if (b.producerId < 0) continue;
      idempotent++;
      const entry = this.entries.get(b.producerId);
      const prev = pending.get(b.producerId) ?? (entry ? { epoch: entry.producerEpoch, lastSeq: lastSeqOf(entry) } : undefined);
      if (prev !== undefined && b.producerEpoch < prev.epoch) {
        throw new LogError(
          'INVALID_PRODUCER_EPOCH',
          `producer ${b.producerId} epoch ${b.producerEpoch} is older than the current epoch ${prev.epoch}`,
        );
      }
      const lastSeq = lastSequenceOf(b.baseSequence, b.lastOffsetDelta);
      if (isControl(b)) {
        pending.set(b.producerId, { epoch: b.producerEpoch, lastSeq: prev && prev.epoch === b.producerEpoch ? prev.lastSeq : -1 });
        continue;
      }
      if (prev !== undefined) {
        if (b.producerEpoch > prev.epoch) {
          if (b.baseSequence !== 0) {
            throw new LogError(
              'OUT_OF_ORDER_SEQUENCE_NUMBER',
              `producer ${b.producerId} new epoch ${b.producerEpoch} must start at sequence 0, got ${b.baseSequence}`,
            );
          }
        } else {
          const dup = !pending.has(b.producerId) && entry !== undefined ? findDuplicate(entry, b.baseSequence, lastSeq) : undefined;
          if (dup !== undefined) {
            dups.push(dup);
            continue;
          }
          if (b.baseSequence !== nextSequence(prev.lastSeq)) {
            throw new LogError(
              'OUT_OF_ORDER_SEQUENCE_NUMBER',
              `producer ${b.producerId} epoch ${b.producerEpoch}: expected sequence ${nextSequence(prev.lastSeq)}, got ${b.baseSequence}`,
            );
          }
        }
      }
      pending.set(b.producerId, { epoch: b.producerEpoch, lastSeq });
    }
    if (dups.length === 0) return null;
    if (dups.length !== idempotent || idempotent !== batches.length) {
      throw new LogError('OUT_OF_ORDER_SEQUENCE_NUMBER', 'append mixes retried batches with new ones');
    }
    return { firstOffset: dups[0]!.firstOffset, lastOffset: dups[dups.length - 1]!.lastOffset };
  }

  /** Records a batch written at `firstOffset` (after check, or while replaying the log). */
  apply(b: ProducerBatch, firstOffset: number): void {
    if (b.producerId < 0) return;
    let entry = this.entries.get(b.producerId);
    if (entry === undefined) {
      entry = { producerId: b.producerId, producerEpoch: b.producerEpoch, coordinatorEpoch: -1, currentTxnStartOffset: -1, lastTimestamp: -1, batches: [] };
      this.entries.set(b.producerId, entry);
    }
    if (b.producerEpoch !== entry.producerEpoch) {
      entry.producerEpoch = b.producerEpoch;
      entry.batches = [];
    }
    entry.lastTimestamp = b.maxTimestamp;
    const lastOffset = firstOffset + b.lastOffsetDelta;
    if (isControl(b)) {
      // A commit/abort marker closes the transaction.
      entry.currentTxnStartOffset = -1;
      return;
    }
    if ((b.attributes & TRANSACTIONAL_BIT) !== 0 && entry.currentTxnStartOffset < 0) entry.currentTxnStartOffset = firstOffset;
    entry.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequenceOf(b.baseSequence, b.lastOffsetDelta), firstOffset, lastOffset });
    if (entry.batches.length > MAX_BATCHES) entry.batches.shift();
  }

  /** Forgets producers idle for `expirationMs` that have no open transaction. */
  expire(now: number, expirationMs: number): void {
    for (const [id, e] of this.entries) {
      if (e.currentTxnStartOffset < 0 && now - e.lastTimestamp >= expirationMs) this.entries.delete(id);
    }
  }

  /** First offset of the earliest open transaction, or null. */
  firstUnstableOffset(): number | null {
    let first: number | null = null;
    for (const e of this.entries.values()) {
      if (e.currentTxnStartOffset >= 0 && (first === null || e.currentTxnStartOffset < first)) first = e.currentTxnStartOffset;
    }
    return first;
  }

  list(): ProducerInfo[] {
    return [...this.entries.values()].map((e) => ({
      producerId: e.producerId,
      producerEpoch: e.producerEpoch,
      lastSequence: lastSeqOf(e),
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: e.currentTxnStartOffset,
    }));
  }

  clear(): void {
    this.entries.clear();
  }

  toJSON(): ProducerEntry[] {
    return [...this.entries.values()];
  }

  load(entries: readonly ProducerEntry[]): void {
    this.entries.clear();
    for (const e of entries) this.entries.set(e.producerId, { ...e, batches: e.batches.map((b) => ({ ...b })) });
  }
}

function lastSeqOf(e: ProducerEntry): number {
  return e.batches.length === 0 ? -1 : e.batches[e.batches.length - 1]!.lastSeq;
}

function findDuplicate(e: ProducerEntry, firstSeq: number, lastSeq: number): BatchRecord | undefined {
  return e.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
}
