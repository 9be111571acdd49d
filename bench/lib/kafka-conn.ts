// A minimal pipelined Kafka connection: writes pre-encoded request frames and hands back
// response frames in order (Kafka answers each connection's requests in order).
import { connect, type Socket } from 'node:net';

export type ResponseHandler = (frame: Buffer | null, err?: Error) => void;

export class KafkaConn {
  private readonly waiting: ResponseHandler[] = [];
  private head = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  /** Bytes of response frames received, size prefixes included. */
  bytesIn = 0;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static open(host: string, port: number): Promise<KafkaConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new KafkaConn(s));
      });
      s.once('error', reject);
    });
  }

  get inFlight(): number {
    return this.waiting.length - this.head;
  }

  /** Sends one whole frame (size prefix included); `onResponse` gets the frame after its size prefix. */
  send(frame: Buffer, onResponse: ResponseHandler): void {
    if (this.closed) {
      onResponse(null, new Error('connection is closed'));
      return;
    }
    this.waiting.push(onResponse);
    this.socket.write(frame);
  }

  request(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => this.send(frame, (f, err) => (f ? resolve(f) : reject(err))));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.bytesIn += d.length;
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.buffered < 4) return;
      const size = this.peekSize();
      if (this.buffered < 4 + size) return;
      const frame = this.take(4 + size).subarray(4);
      const handler = this.waiting[this.head];
      if (handler === undefined) {
        this.fail(new Error('response without a request'));
        return;
      }
      this.waiting[this.head++] = undefined as unknown as ResponseHandler;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      handler(frame);
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks).readInt32BE(0);
  }

  /** Removes n bytes from the front; a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  private fail(err: Error): void {
    if (this.closed && this.inFlight === 0) return;
    this.closed = true;
    const pending = this.waiting.slice(this.head);
    this.waiting.length = 0;
    this.head = 0;
    for (const h of pending) h(null, err);
  }
}
