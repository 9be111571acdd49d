// Recent log lines of one function (what `floe fn logs` shows), numbered so clients can follow.
import type { WireLog } from './worker-protocol.js';

export interface LogLine extends WireLog {
  seq: number;
  version: number;
  /** 'fn' = written by the function, 'runtime' = about it. */
  source: 'fn' | 'runtime';
}

export class LogBuffer {
  private lines: LogLine[] = [];
  private seq = 0;

  constructor(private readonly capacity = 2_000) {}

  push(line: Omit<LogLine, 'seq'>): void {
    this.lines.push({ ...line, seq: ++this.seq });
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** Lines with seq > after, oldest first, at most `limit` (the newest ones when tailing). */
  since(after: number, limit = 500): LogLine[] {
    const out = this.lines.filter((l) => l.seq > after);
    return after === 0 && out.length > limit ? out.slice(-limit) : out.slice(0, limit);
  }

  get last(): number {
    return this.seq;
  }
}
