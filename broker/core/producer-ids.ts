import type { ControlStore } from '../cluster/control-store.js';

const BLOCK = 1000;

/** Hands out producer ids from blocks reserved in the control store, so ids are never reused. */
export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;

  constructor(private readonly store: ControlStore) {}

  async allocate(): Promise<number> {
    while (this.next >= this.end) {
      if (!this.pending) {
        this.pending = this.store.allocateProducerIds(BLOCK).then((first) => {
          this.next = first;
          this.end = first + BLOCK;
          this.pending = null;
        });
      }
      await this.pending;
    }
    return this.next++;
  }
}
