// One fuzzing connection: writes a chunk of frames plus a sentinel ApiVersions request and waits
// for the sentinel's answer (responses come in request order, so it proves the chunk was handled),
// for the broker to close the connection, or for the time limit.
import net from 'node:net';
import { FrameDecoder } from '../../broker/protocol/frame-decoder.js';
import type { Mutant } from './mutate.js';

export type ChunkOutcome =
  /** Every frame handled; `silent` frames got no response (legal only for acks=0 Produce). */
  | { kind: 'done'; answered: number; silent: number[] }
  /** The broker closed the connection; frames before `at` were answered or silent. */
  | { kind: 'closed'; answered: number; silent: number[]; at: number }
  /** No answer and no close within the time limit; frame `at` is the first unanswered one. */
  | { kind: 'stalled'; answered: number; silent: number[]; at: number }
  /** A response whose correlation id matches no frame still waiting. */
  | { kind: 'mismatch'; answered: number; silent: number[]; correlationId: number };

let sentinelCounter = 0;
let correlationCounter = 0;
/** Ids for chunk frames; never in the sentinels' 0x5eed0000 range. */
function nextCorrelation(): number {
  correlationCounter = (correlationCounter + 1) % 0x40000000;
  return correlationCounter;
}

/** ApiVersions v0 with request header v1 (client id "s"): every broker must answer it. */
export function sentinelFrame(correlationId: number): Buffer {
  const b = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(18, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(1, 12);
  b.write('s', 14);
  return b;
}

export function withSizePrefix(frame: Buffer, size = frame.length): Buffer {
  const b = Buffer.allocUnsafe(4 + frame.length);
  b.writeInt32BE(size, 0);
  frame.copy(b, 4);
  return b;
}

const correlationOf = (f: Buffer): number | null => (f.length >= 8 ? f.readInt32BE(4) : null);

export class FuzzConnection {
  private readonly decoder = new FrameDecoder(0x7fffffff);
  private closedFlag = false;
  private onEvent: (() => void) | null = null;
  private responses: number[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      try {
        for (const f of this.decoder.push(d)) this.responses.push(f.length >= 4 ? f.readInt32BE(0) : -1);
      } catch {
        socket.destroy();
      }
      this.onEvent?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedFlag = true;
      this.onEvent?.();
    });
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new FuzzConnection(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends the chunk and a sentinel; resolves as described by ChunkOutcome. */
  run(input: readonly Mutant[], stallMs: (blocker: Mutant) => number): Promise<ChunkOutcome> {
    // Mutations can leave two frames of a chunk with one correlation id (or a silent acks=0
    // Produce sharing one with a later frame), and then responses cannot be told apart. Real
    // clients never reuse an id on a connection, so give every frame its own.
    const chunk = input.map((m) => {
      if (m.frame.length < 8) return m;
      const frame = Buffer.from(m.frame);
      frame.writeInt32BE(nextCorrelation(), 4);
      return { ...m, frame };
    });
    const sentinel = 0x5eed0000 | (sentinelCounter++ & 0xffff);
    const parts = chunk.map((m) => withSizePrefix(m.frame));
    parts.push(sentinelFrame(sentinel));
    this.responses = [];
    let next = 0; // first frame not yet answered
    let answered = 0;
    const silent: number[] = [];
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (o: ChunkOutcome) => {
        if (timer) clearTimeout(timer);
        this.onEvent = null;
        resolve(o);
      };
      const arm = () => {
        if (timer) clearTimeout(timer);
        const blocker = chunk[next];
        timer = setTimeout(
          () => finish({ kind: 'stalled', answered, silent, at: next }),
          blocker ? stallMs(blocker) : stallMs({ frame: Buffer.alloc(0), kind: 'sentinel', seedKey: 18 }),
        );
      };
      this.onEvent = () => {
        for (const corr of this.responses.splice(0)) {
          if (corr === sentinel) {
            for (let i = next; i < chunk.length; i++) silent.push(i);
            finish({ kind: 'done', answered, silent });
            return;
          }
          let i = next;
          while (i < chunk.length && correlationOf(chunk[i]!.frame) !== corr) i++;
          if (i === chunk.length) {
            finish({ kind: 'mismatch', answered, silent, correlationId: corr });
            return;
          }
          for (let j = next; j < i; j++) silent.push(j);
          answered++;
          next = i + 1;
          arm();
        }
        if (this.closedFlag) finish({ kind: 'closed', answered, silent, at: next });
      };
      arm();
      if (this.closedFlag) {
        finish({ kind: 'closed', answered, silent, at: 0 });
        return;
      }
      this.socket.write(Buffer.concat(parts));
    });
  }

  /** Resolves true if the broker closes the connection within `ms`. */
  waitClose(ms: number): Promise<boolean> {
    if (this.closedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onEvent = null;
        resolve(false);
      }, ms);
      this.onEvent = () => {
        if (this.closedFlag) {
          clearTimeout(timer);
          this.onEvent = null;
          resolve(true);
        }
      };
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
