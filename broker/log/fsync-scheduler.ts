import type { FileHandle } from 'node:fs/promises';

interface FileSyncState {
  running: Promise<void> | null;
  queued: Promise<void> | null;
}

const noop = (): void => {};

/**
 * Group commit. Requests for one file coalesce: while an fdatasync runs, every new request
 * shares the single next one, so N concurrent callers cost at most two syncs.
 */
export class FsyncScheduler {
  private readonly files = new Map<FileHandle, FileSyncState>();
  private syncs = 0;
  /** Called with each fdatasync's duration in ms (for the fsync latency histogram). */
  onSyncDone: ((ms: number) => void) | null = null;

  /** Number of fdatasync calls issued so far. */
  get fsyncCount(): number {
    return this.syncs;
  }

  /** Resolves after an fdatasync of `fh` that started after this call. */
  sync(fh: FileHandle): Promise<void> {
    let st = this.files.get(fh);
    if (st === undefined) {
      st = { running: null, queued: null };
      this.files.set(fh, st);
    }
    if (st.running === null) return this.start(fh, st);
    if (st.queued !== null) return st.queued;
    const state = st;
    // A sync already in flight may have started before the caller's write: wait for the next.
    const queued = st.running.then(noop, noop).then(() => {
      state.queued = null;
      return this.start(fh, state);
    });
    state.queued = queued;
    return queued;
  }

  private start(fh: FileHandle, st: FileSyncState): Promise<void> {
    this.syncs++;
    const t0 = performance.now();
    const p: Promise<void> = fh.datasync().finally(() => {
      this.onSyncDone?.(performance.now() - t0);
      if (st.running === p) st.running = null;
      if (st.running === null && st.queued === null) this.files.delete(fh);
    });
    st.running = p;
    return p;
  }
}
