// Non-durable OffsetStore: for tests and for brokers run without persistence.
import type { GroupOffsets, OffsetStore, OffsetWrite, TopicPartition } from './offset-store.js';
import { OffsetTable } from './offset-table.js';

export class MemoryOffsetStore implements OffsetStore {
  private readonly table = new OffsetTable();

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  groupIds(): string[] {
    return this.table.groupIds();
  }

  offsets(groupId: string): GroupOffsets | undefined {
    return this.table.get(groupId);
  }

  async commit(groupId: string, writes: OffsetWrite[]): Promise<void> {
    this.table.applyCommit(groupId, writes);
  }

  async delete(groupId: string, partitions: TopicPartition[] | null): Promise<void> {
    this.table.applyDelete(groupId, partitions);
  }
}
