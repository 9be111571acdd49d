import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../broker/protocol/frame-decoder.js';

/** Raw TCP client that speaks int32-length-prefixed frames, for driving KafkaServer in tests. */
export class FrameClient {
  readonly frames: Buffer[] = [];
  private readonly decoder = new FrameDecoder(0x7fffffff);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.frames.push(f);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true }, () => resolve(new FrameClient(socket)));
      socket.once('error', reject);
    });
  }

  send(body: Buffer): void {
    this.socket.write(frame(body));
  }

  /** Waits until at least n frames have arrived (rejects if the socket closes first). */
  async waitFrames(n: number): Promise<Buffer[]> {
    while (this.frames.length < n) {
      if (this.closed) throw new Error(`socket closed after ${this.frames.length}/${n} frames`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.frames.slice(0, n);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

export function frame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

/** A request body whose first 8 bytes look like a Kafka header with the given correlation id. */
export function request(correlationId: number, payload = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt16BE(18, 0);
  head.writeInt16BE(0, 2);
  head.writeInt32BE(correlationId, 4);
  return Buffer.concat([head, payload]);
}

export function correlationOf(buf: Buffer): number {
  return buf.readInt32BE(4);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls a condition on the event loop (no wall-clock assertions; the test timeout bounds it). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
