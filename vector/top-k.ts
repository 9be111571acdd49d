/** Keeps the k smallest distances; ties broken by `tie` so results are deterministic. */
export class TopK<T> {
  private readonly items: [number, T][] = [];

  constructor(
    private readonly k: number,
    private readonly tie: (a: T, b: T) => number,
  ) {}

  private before(a: [number, T], b: [number, T]): boolean {
    return a[0] < b[0] || (a[0] === b[0] && this.tie(a[1], b[1]) < 0);
  }

  offer(distance: number, item: T): void {
    const items = this.items;
    if (items.length === this.k) {
      // Rejecting is the common case in a scan: decide before allocating.
      const last = items[items.length - 1]!;
      if (distance > last[0] || (distance === last[0] && this.tie(item, last[1]) >= 0)) return;
    }
    const cand: [number, T] = [distance, item];
    // Binary search for the insertion point; k is small, so the splice is cheap.
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.before(items[mid]!, cand)) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, cand);
    if (items.length > this.k) items.pop();
  }

  get size(): number {
    return this.items.length;
  }

  sorted(): [number, T][] {
    return this.items.slice();
  }
}
