// Partition choice for records without an explicit partition: murmur2 of the key, exactly as the
// Java and kafkajs default partitioners do, so a key lands on the same partition whoever writes
// it; round robin for null keys.
import { partitionForKey } from '../../broker/client/partitioner.js';

export class HttpPartitioner {
  private readonly next = new Map<string, number>();

  choose(topic: string, key: Buffer | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    const n = this.next.get(topic) ?? Math.floor(Math.random() * partitions);
    this.next.set(topic, (n + 1) % 0x40000000);
    return n % partitions;
  }

  forget(topic: string): void {
    this.next.delete(topic);
  }
}
