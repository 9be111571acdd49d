// One TCP connection to one broker: framing, correlation ids, pipelined requests, timeouts.
import net from 'node:net';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { isFlexible } from '../protocol/frame.js';
import { writeRequestHeader } from '../protocol/generated/request-header.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { ConnectionError, RequestTimeoutError } from './errors.js';

const API_VERSIONS = 18;
const MAX_RESPONSE_BYTES = 0x7fffffff;

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  connectTimeoutMs?: number;
  /** Default timeout of each request (a request may override it). */
  requestTimeoutMs?: number;
}

export interface RequestOptions {
  /** Produce with acks=0 gets no response: resolve once written. */
  expectResponse?: boolean;
  timeoutMs?: number;
}

/** Reads a response body; `r` is positioned after the response header. */
export type BodyReader<T> = (r: Reader, version: number) => T;

interface Pending {
  apiKey: number;
  version: number;
  read: BodyReader<unknown>;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class BrokerConnection {
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder(MAX_RESPONSE_BYTES);
  private closedError: Error | null = null;
  readonly address: string;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.address = `${opts.host}:${opts.port}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(`connection to ${this.address} failed: ${err.code ?? err.message}`)));
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${this.address} closed by the broker`)));
  }

  /** Connects, or rejects with "cannot connect to host:port: ECONNREFUSED". */
  static open(opts: ConnectionOptions): Promise<BrokerConnection> {
    const address = `${opts.host}:${opts.port}`;
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${address}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectionError(`cannot connect to ${address}: ${err.code ?? err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new BrokerConnection(socket, opts));
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request. Several may be in flight at once; the broker answers in order and each
   * response is matched to its request by correlation id.
   */
  send<T>(apiKey: number, version: number, writeBody: (w: Writer) => void, read: BodyReader<T>, ro: RequestOptions = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer(256);
    w.int32(0); // size, patched below
    writeRequestHeader(w, isFlexible(apiKey, version) ? 2 : 1, {
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.opts.clientId ?? 'floe-cli',
    });
    writeBody(w);
    const parts = w.finish();
    parts[0]!.writeInt32BE(w.length - 4, 0);
    const expectResponse = ro.expectResponse ?? true;
    if (!expectResponse) {
      return new Promise((resolve, reject) => {
        this.socket.write(Buffer.concat(parts), (err) => (err ? reject(new ConnectionError(`write to ${this.address} failed: ${err.message}`)) : resolve(undefined as T)));
      });
    }
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = ro.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        // A late response is dropped by onData: its correlation id is no longer pending.
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(`request to ${this.address} timed out after ${timeoutMs} ms (api ${apiKey} v${version})`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, read: read as BodyReader<unknown>, resolve: resolve as (v: unknown) => void, reject, timer });
      for (const p of parts) this.socket.write(p);
    });
  }

  close(): void {
    this.fail(new ConnectionError(`connection to ${this.address} closed`));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new ConnectionError(`bad response from ${this.address}: ${(err as Error).message}`));
      this.socket.destroy();
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) return;
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) return;
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    try {
      const r = new Reader(frame, 4);
      // Flexible responses carry header v1 (tagged fields), except ApiVersions.
      if (p.apiKey !== API_VERSIONS && isFlexible(p.apiKey, p.version)) r.taggedFields();
      p.resolve(p.read(r, p.version));
    } catch (err) {
      p.reject(new ConnectionError(`cannot parse response from ${this.address} (api ${p.apiKey} v${p.version}): ${(err as Error).message}`));
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
