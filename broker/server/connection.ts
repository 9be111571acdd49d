import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, FrameSizeError } from '../protocol/frame-decoder.js';
import { ProtocolError } from '../protocol/primitives/reader.js';
import type { LogLimiter } from './log-limiter.js';
import type { RequestMemory } from './request-memory.js';
import { ResponseOrder } from './response-order.js';
import { takeReleaseHook } from './write-release.js';
import type { BufferPool } from './buffer-pool.js';
import type { ConnectionInfo, ConnectionStats, FrameHandler } from './types.js';

export interface ConnectionOptions {
  handler: FrameHandler;
  maxRequestBytes: number;
  idleTimeoutMs: number;
  maxInFlight: number;
  writeHighWaterBytes: number;
  /** Supplies buffers for frames spanning chunks; frames passing reusableFrame go back to it. */
  framePool?: BufferPool;
  reusableFrame?: (frame: Buffer) => boolean;
  logger: Logger;
  /** Broker-wide budget for request bytes held (queued.max.request.bytes). */
  memory?: RequestMemory;
  /** Close when a started frame is not complete within this; <= 0 disables. */
  receiveTimeoutMs?: number;
  /** Limits the warnings a peer can cause (shared by the server's connections). */
  logLimiter?: LogLimiter;
}

/** What a connection reports back to its server. */
export interface ConnectionHooks {
  bytesIn(n: number): void;
  bytesOut(n: number): void;
  request(conn: ConnectionInfo): void;
  backpressure(conn: ConnectionInfo, paused: boolean): void;
  closed(conn: KafkaConnection): void;
}

const MAX_INT32 = 0x7fffffff;

/** Apache Kafka request header v0+ starts with api key, api version and correlation id. */
function describeFrame(frame: Buffer | undefined): Record<string, number> {
  if (frame === undefined || frame.length < 8) return {};
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), correlationId: frame.readInt32BE(4) };
}

/** One client socket: framing, ordered responses, backpressure, idle timeout and graceful end. */
export class KafkaConnection {
  private readonly decoder: FrameDecoder;
  private readonly order = new ResponseOrder();
  /** Frames decoded but not dispatched because the in-flight limit was reached. */
  private queued: Buffer[] = [];
  private queuedHead = 0;
  private paused = false;
  private pumping = false;
  /** A deferred uncork is pending (see write). */
  private corked = false;
  private draining = false;
  private peerEnded = false;
  private ended = false;
  private closedFlag = false;
  /** Token of the first request whose handler failed: answer everything before it, then close. */
  private poison: number | null = null;
  /** Bytes of decoded frames not yet dispatched, and of dispatched ones whose handler runs. */
  private queuedBytes = 0;
  private inflightBytes = 0;
  /** What this connection last reported to the memory budget. */
  private reportedBytes = 0;
  /** Reading paused because the broker-wide request budget is used up. */
  private memoryPaused = false;
  /** Runs from the first byte of a frame until it is complete (the trickle defence). */
  private receiveTimer: NodeJS.Timeout | undefined;
  /** 'drain' only fires above the stream's own mark, so ours must not be lower. */
  private readonly highWater: number;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: Socket,
    readonly info: ConnectionInfo,
    private readonly opts: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {
    const pool = opts.framePool;
    this.decoder = new FrameDecoder(opts.maxRequestBytes, pool !== undefined ? (n) => pool.take(n) : undefined);
    this.highWater = Math.max(opts.writeHighWaterBytes, socket.writableHighWaterMark);
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        this.dropQueued();
        this.memoryPaused = false;
        this.account();
        hooks.closed(this);
        resolve();
      });
    });
    // ECONNRESET and friends: 'close' follows, nothing else to do.
    socket.on('error', (err) => {
      opts.logger.debug({ conn: info.id, err: err.message }, 'kafka connection error');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.peerEnded = true;
      this.maybeEnd();
    });
    socket.on('drain', () => this.pump());
    if (opts.idleTimeoutMs > 0) {
      socket.setTimeout(opts.idleTimeoutMs);
      socket.on('timeout', () => this.onIdle());
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  stats(): ConnectionStats {
    return {
      info: this.info,
      inFlight: this.order.size,
      queuedFrames: this.queued.length - this.queuedHead,
      writableLength: this.socket.writableLength,
      paused: this.paused || this.memoryPaused,
      heldBytes: this.held(),
    };
  }

  /** Stops taking requests, lets dispatched ones answer, then ends the socket. */
  drain(): Promise<void> {
    if (!this.draining && !this.closedFlag) {
      this.draining = true;
      this.dropQueued();
      this.account();
      // Keep reading (and discarding) so the peer's FIN is seen and close completes.
      if (this.paused || this.memoryPaused) {
        this.paused = false;
        this.memoryPaused = false;
        this.socket.resume();
      }
      this.maybeEnd();
    }
    return this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.hooks.bytesIn(chunk.length);
    if (this.draining || this.closedFlag || this.poison !== null) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameSizeError) this.peerWarn({ size: err.size }, `closing kafka connection: ${err.message}`);
      else this.peerWarn({ err }, 'closing kafka connection: frame decoding failed');
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      this.queued.push(f);
      this.queuedBytes += f.length;
    }
    this.trackReceive(frames.length > 0);
    this.pump();
    this.account();
    this.checkMemory();
  }

  /** Forgets frames not yet dispatched and leaves the memory budget's queues. */
  private dropQueued(): void {
    this.queued = [];
    this.queuedHead = 0;
    this.queuedBytes = 0;
    this.clearReceiveTimer();
    this.opts.memory?.cancel(this.resumeForMemory);
    this.opts.memory?.releaseLane(this.resumeForMemory);
  }

  /** Bytes of request frames this connection keeps in memory. */
  private held(): number {
    return (this.closedFlag || this.draining ? 0 : this.decoder.pendingBytes + this.queuedBytes) + this.inflightBytes;
  }

  private readonly heldNow = (): number => this.held();

  private account(): void {
    const memory = this.opts.memory;
    if (memory === undefined) return;
    const now = this.held();
    if (now === this.reportedBytes) return;
    const delta = now - this.reportedBytes;
    this.reportedBytes = now;
    memory.adjust(delta);
  }

  private checkMemory(): void {
    const memory = this.opts.memory;
    if (memory === undefined || this.memoryPaused || this.closedFlag || this.draining || this.poison !== null) return;
    if (memory.mayRead(this.held())) return;
    if (this.decoder.pendingBytes > 0 && memory.claimLane(this.resumeForMemory, this.heldNow)) return;
    this.memoryPaused = true;
    this.socket.pause();
    memory.wait(this.resumeForMemory, this.heldNow);
  }

  private readonly resumeForMemory = (): void => {
    if (!this.memoryPaused) return;
    this.memoryPaused = false;
    if (!this.closedFlag && !this.paused && this.poison === null) this.socket.resume();
  };

  private trackReceive(completedFrame: boolean): void {
    const ms = this.opts.receiveTimeoutMs ?? 0;
    if (ms <= 0) {
      if (completedFrame || this.decoder.pendingBytes === 0) this.opts.memory?.releaseLane(this.resumeForMemory);
      return;
    }
    if (completedFrame || this.decoder.pendingBytes === 0) {
      this.clearReceiveTimer();
      this.opts.memory?.releaseLane(this.resumeForMemory);
    }
    if (this.decoder.pendingBytes > 0 && this.receiveTimer === undefined) {
      this.receiveTimer = setTimeout(this.onReceiveTimeout, ms);
      this.receiveTimer.unref();
    }
  }

  private clearReceiveTimer(): void {
    if (this.receiveTimer !== undefined) clearTimeout(this.receiveTimer);
    this.receiveTimer = undefined;
  }

  private readonly onReceiveTimeout = (): void => {
    this.receiveTimer = undefined;
    if (this.closedFlag || this.draining || this.poison !== null) return;
    const ms = this.opts.receiveTimeoutMs ?? 0;
    // Paused by our own backpressure the peer cannot finish the frame: not its fault.
    if (this.paused && !this.memoryPaused) {
      this.receiveTimer = setTimeout(this.onReceiveTimeout, ms);
      this.receiveTimer.unref();
      return;
    }
    this.peerWarn({ receivedBytes: this.decoder.pendingBytes, timeoutMs: ms }, 'closing kafka connection: request not complete within the receive timeout');
    this.socket.destroy();
  };

  /** A warning the peer can provoke: rate-limited per remote address, no stack for client errors. */
  private peerWarn(fields: Record<string, unknown>, msg: string): void {
    const limiter = this.opts.logLimiter;
    const slot = limiter === undefined ? { suppressed: 0 } : limiter.take(this.info.remoteAddress);
    if (slot === null) return;
    const err = fields.err;
    const shown = err instanceof ProtocolError ? { ...fields, err: err.message } : fields;
    this.opts.logger.warn(
      { conn: this.info.id, remote: `${this.info.remoteAddress}:${this.info.remotePort}`, ...shown, ...(slot.suppressed > 0 ? { suppressed: slot.suppressed } : {}) },
      slot.suppressed > 0 ? `${msg} (${slot.suppressed} similar lines from this address suppressed)` : msg,
    );
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (
        !this.closedFlag &&
        !this.draining &&
        this.queuedHead < this.queued.length &&
        this.order.size < this.opts.maxInFlight &&
        this.socket.writableLength < this.highWater
      ) {
        const frame = this.queued[this.queuedHead]!;
        this.queuedHead++;
        this.queuedBytes -= frame.length;
        this.inflightBytes += frame.length;
        this.dispatch(frame);
      }
      if (this.queuedHead === this.queued.length) {
        this.queued = [];
        this.queuedHead = 0;
      }
    } finally {
      this.pumping = false;
    }
    this.updateFlow();
    this.account();
  }

  private dispatch(frame: Buffer): void {
    const token = this.order.reserve();
    this.hooks.request(this.info);
    let result: Promise<Buffer[] | null> | Buffer[] | null;
    try {
      result = this.opts.handler(frame, this.info);
    } catch (err) {
      this.settled(frame);
      this.failRequest(err, frame, token);
      return;
    }
    if (result !== null && !Array.isArray(result) && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<Buffer[] | null>).then(
        (body) => {
          this.settled(frame);
          this.complete(token, body, frame);
          this.recycle(frame, body);
        },
        (err: unknown) => {
          this.settled(frame);
          this.failRequest(err, frame, token);
        },
      );
    } else {
      this.settled(frame);
      this.complete(token, result as Buffer[] | null, frame);
      this.recycle(frame, result as Buffer[] | null);
    }
  }

  /** The handler is done with the frame: it no longer counts against the memory budget. */
  private settled(frame: Buffer): void {
    this.inflightBytes -= frame.length;
    // Inside pump() the caller accounts once the loop ends.
    if (!this.pumping) this.account();
  }

  /** Hands a pooled frame back once its handler succeeded (a failed one may still be using it). */
  private recycle(frame: Buffer, body: Buffer[] | null): void {
    const pool = this.opts.framePool;
    if (pool === undefined || (body !== null && !Array.isArray(body)) || !pool.owns(frame)) return;
    if (this.opts.reusableFrame?.(frame) === true) pool.give(frame);
  }

  private complete(token: number, body: Buffer[] | null, frame: Buffer): void {
    if (this.closedFlag) return;
    if (body !== null && !Array.isArray(body)) {
      this.failRequest(new TypeError('frame handler must return Buffer[] or null'), frame, token);
      return;
    }
    // Requests after a failed one are never answered: the connection closes after it.
    if (this.poison !== null && token > this.poison) body = null;
    const ready = this.order.settle(token, body);
    if (ready.length > 0 && !this.write(ready, frame)) return;
    if (this.closeIfPoisonReached()) return;
    this.maybeEnd();
    // A sync handler completes inside pump(); the loop there picks up the freed slot.
    if (!this.pumping) this.pump();
  }

  /**
   * Writes whole responses with their size prefixes. The socket stays corked until the current
   * tick's promise jobs have run, so responses settled together (one group commit) share one
   * writev instead of a syscall each.
   */
  private write(ready: Buffer[][], frame: Buffer): boolean {
    if (this.socket.destroyed || this.ended) return false;
    const socket = this.socket;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(this.uncork);
    }
    for (const body of ready) {
      let total = 0;
      for (const b of body) total += b.length;
      if (total > MAX_INT32) {
        this.fail(new RangeError(`response of ${total} bytes exceeds the int32 frame limit`), frame);
        return false;
      }
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeInt32BE(total, 0);
      socket.write(prefix);
      for (const b of body) {
        const release = takeReleaseHook(b);
        if (b.length > 0) socket.write(b, release);
        else release?.();
      }
      this.hooks.bytesOut(4 + total);
    }
    return true;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /**
   * A request that cannot be answered closes the connection, as in Kafka, but only after the
   * responses to earlier requests on it are written: a pipelining client must not lose them.
   */
  private failRequest(err: unknown, frame: Buffer, token: number): void {
    if (this.closedFlag) return;
    this.peerWarn({ ...describeFrame(frame), err }, 'closing kafka connection after earlier responses: request handler failed');
    if (this.poison === null || token < this.poison) this.poison = token;
    // Read nothing more; frames already queued will never be answered.
    this.dropQueued();
    this.memoryPaused = false;
    this.account();
    this.socket.pause();
    this.paused = true;
    // Later requests may already have finished; their answers must not go out either.
    this.order.dropAfter(this.poison);
    const ready = this.order.settle(token, null);
    if (ready.length > 0 && !this.write(ready, frame)) return;
    this.closeIfPoisonReached();
  }

  private closeIfPoisonReached(): boolean {
    if (this.poison === null || this.order.nextUnreleased <= this.poison) return false;
    if (!this.ended) {
      this.ended = true;
      // end() flushes what was written; destroy shortly after in case the peer never reads.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 5_000).unref();
    }
    return true;
  }

  private fail(err: unknown, frame: Buffer): void {
    if (this.closedFlag) return;
    this.opts.logger.warn(
      { conn: this.info.id, ...describeFrame(frame), err },
      'closing kafka connection: request handler failed',
    );
    this.socket.destroy();
  }

  private updateFlow(): void {
    if (this.closedFlag || this.draining || this.poison !== null) return;
    const shouldPause =
      this.queuedHead < this.queued.length ||
      this.order.size >= this.opts.maxInFlight ||
      this.socket.writableLength >= this.highWater;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
      this.hooks.backpressure(this.info, true);
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      if (!this.memoryPaused) this.socket.resume();
      this.hooks.backpressure(this.info, false);
    }
  }

  /** Ends our side once nothing more will be answered (peer half-closed, or server draining). */
  private maybeEnd(): void {
    if (this.ended || this.closedFlag) return;
    if (this.order.size > 0) return;
    if (this.draining || (this.peerEnded && this.queuedHead >= this.queued.length)) {
      this.ended = true;
      this.socket.end();
    }
  }

  private onIdle(): void {
    if (this.closedFlag) return;
    // A slow handler is not idleness; look again after another period.
    if (this.order.size > 0) {
      this.socket.setTimeout(this.opts.idleTimeoutMs);
      return;
    }
    this.opts.logger.info({ conn: this.info.id, idleMs: this.opts.idleTimeoutMs }, 'closing idle kafka connection');
    this.socket.destroy();
  }
}
