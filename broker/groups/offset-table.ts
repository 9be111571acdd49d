// In-memory map of committed offsets, shared by the OffsetStore implementations.
import type { CommittedOffset, GroupOffsets, OffsetWrite, TopicPartition } from './offset-store.js';

export class OffsetTable {
  private readonly groups = new Map<string, Map<string, Map<number, CommittedOffset>>>();

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  get(groupId: string): GroupOffsets | undefined {
    return this.groups.get(groupId);
  }

  applyCommit(groupId: string, writes: readonly OffsetWrite[]): void {
    let g = this.groups.get(groupId);
    if (!g) {
      g = new Map();
      this.groups.set(groupId, g);
    }
    for (const w of writes) {
      let t = g.get(w.topic);
      if (!t) {
        t = new Map();
        g.set(w.topic, t);
      }
      t.set(w.partition, { ...w.value });
    }
  }

  applyDelete(groupId: string, partitions: readonly TopicPartition[] | null): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    if (partitions === null) {
      this.groups.delete(groupId);
      return;
    }
    for (const p of partitions) {
      const t = g.get(p.topic);
      if (!t) continue;
      t.delete(p.partition);
      if (t.size === 0) g.delete(p.topic);
    }
    if (g.size === 0) this.groups.delete(groupId);
  }

  /** Every commit, flattened per group (snapshot form). */
  entries(): Array<[string, OffsetWrite[]]> {
    const out: Array<[string, OffsetWrite[]]> = [];
    for (const [groupId, g] of this.groups) {
      const writes: OffsetWrite[] = [];
      for (const [topic, t] of g) for (const [partition, value] of t) writes.push({ topic, partition, value });
      out.push([groupId, writes]);
    }
    return out;
  }

  clear(): void {
    this.groups.clear();
  }
}
