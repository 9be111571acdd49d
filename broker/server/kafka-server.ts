import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { BufferPool } from './buffer-pool.js';
import { normalizeIp } from '../config/connection-overrides.js';
import { KafkaConnection } from './connection.js';
import { LogLimiter } from './log-limiter.js';
import { RequestMemory } from './request-memory.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_QUEUED_REQUEST_BYTES,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
  DEFAULT_WRITE_HIGH_WATER_BYTES,
  isProduceFrame,
  type ConnectionInfo,
  type ConnectionStats,
  type FrameHandler,
  type KafkaServerOptions,
} from './types.js';

export interface KafkaServerEvents {
  connection: [conn: ConnectionInfo];
  disconnect: [conn: ConnectionInfo];
  request: [conn: ConnectionInfo];
  /** Reading from a connection was paused (true) or resumed (false) for backpressure. */
  backpressure: [conn: ConnectionInfo, paused: boolean];
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
// Typical Produce requests (up to a few MiB) reuse buffers; bigger ones are plain allocations.
const FRAME_POOL_MIN = 64 * 1024;
const FRAME_POOL_MAX = 4 * 1024 * 1024;
const FRAME_POOL_CAP = 32 * 1024 * 1024;

/** The Kafka TCP listener: moves length-prefixed frames between sockets and a FrameHandler. */
export class KafkaServer extends EventEmitter<KafkaServerEvents> {
  private readonly server: Server;
  private readonly connections = new Set<KafkaConnection>();
  private readonly handler: FrameHandler;
  private readonly logger: Logger;
  private readonly maxRequestBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly writeHighWaterBytes: number;
  /** Buffers of request frames that span socket chunks, shared by all connections. */
  private readonly framePool = new BufferPool(FRAME_POOL_MIN, FRAME_POOL_MAX, FRAME_POOL_CAP);
  private readonly reusableFrame: (frame: Buffer) => boolean;
  /** Request bytes held over all connections (queued.max.request.bytes). */
  readonly requestMemory: RequestMemory;
  private readonly logLimiter = new LogLimiter();
  private readonly maxConnections: number;
  private readonly maxPerIp: number;
  private readonly perIpOverrides: ReadonlyMap<string, number>;
  private readonly receiveTimeoutMs: number;
  /** Open connections per remote address, for max.connections.per.ip. */
  private readonly perIp = new Map<string, number>();
  private nextConnectionId = 1;
  private closing: Promise<void> | null = null;
  private listening = false;

  bytesIn = 0;
  bytesOut = 0;
  requests = 0;
  totalConnections = 0;
  /** Connections closed at accept for max.connections / max.connections.per.ip. */
  refusedConnections = 0;

  constructor(private readonly opts: KafkaServerOptions) {
    super();
    this.handler = opts.handler;
    this.logger = opts.logger ?? pino({ level: 'silent' });
    this.maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxInFlight = Math.max(1, opts.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT);
    this.writeHighWaterBytes = opts.writeHighWaterBytes ?? DEFAULT_WRITE_HIGH_WATER_BYTES;
    this.reusableFrame = opts.reusableFrame ?? isProduceFrame;
    this.requestMemory = new RequestMemory(opts.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES);
    this.maxConnections = opts.maxConnections ?? Number.MAX_SAFE_INTEGER;
    this.maxPerIp = opts.maxConnectionsPerIp ?? Number.MAX_SAFE_INTEGER;
    this.perIpOverrides = opts.maxConnectionsPerIpOverrides ?? new Map();
    this.receiveTimeoutMs = opts.requestReceiveTimeoutMs ?? DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS;
    if (!Number.isInteger(this.maxRequestBytes) || this.maxRequestBytes < 0 || this.maxRequestBytes > 0x7fffffff) {
      throw new RangeError(`maxRequestBytes must be an int32 >= 0, got ${this.maxRequestBytes}`);
    }
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => {
      if (this.listening) this.logger.error({ err }, 'kafka listener error');
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves with the bound address (the real port when port was 0). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        this.listening = true;
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error(`unexpected listener address ${String(addr)}`));
          return;
        }
        this.logger.info({ host: addr.address, port: addr.port }, 'kafka listener started');
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Per-connection snapshot for metrics and diagnostics. */
  connectionStats(): ConnectionStats[] {
    return [...this.connections].map((c) => c.stats());
  }

  /**
   * Stops accepting, lets dispatched requests finish and their responses flush, then closes the
   * sockets. Connections still open after timeoutMs are destroyed. Idempotent.
   */
  close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closing === null) this.closing = this.doClose(timeoutMs);
    return this.closing;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      if (!this.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
    this.listening = false;
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    const outcome = await Promise.race([drained.then(() => 'drained' as const), expired]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn({ open: this.connections.size }, 'kafka listener close timed out; destroying connections');
      for (const c of this.connections) c.destroy();
      await drained;
    }
    await stopped;
    this.logger.info('kafka listener closed');
  }

  private accept(socket: Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const ip = normalizeIp(socket.remoteAddress ?? '');
    const perIpLimit = this.perIpOverrides.get(ip) ?? this.maxPerIp;
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.connections.size >= this.maxConnections || fromIp >= perIpLimit) {
      // Kafka blocks accepting at max.connections; closing keeps the accept queue short instead.
      this.refusedConnections++;
      const which = this.connections.size >= this.maxConnections ? `max.connections=${this.maxConnections}` : `max.connections.per.ip=${perIpLimit}`;
      const slot = this.logLimiter.take(`accept:${ip}`);
      if (slot !== null) this.logger.warn({ remote: ip, suppressed: slot.suppressed }, `refusing kafka connection: ${which} reached`);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    const info: ConnectionInfo = {
      id: this.nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localPort: socket.localPort ?? 0,
    };
    const conn = new KafkaConnection(
      socket,
      info,
      {
        handler: this.handler,
        maxRequestBytes: this.maxRequestBytes,
        idleTimeoutMs: this.idleTimeoutMs,
        maxInFlight: this.maxInFlight,
        writeHighWaterBytes: this.writeHighWaterBytes,
        framePool: this.framePool,
        reusableFrame: this.reusableFrame,
        logger: this.logger,
        memory: this.requestMemory,
        receiveTimeoutMs: this.receiveTimeoutMs,
        logLimiter: this.logLimiter,
      },
      {
        bytesIn: (n) => {
          this.bytesIn += n;
        },
        bytesOut: (n) => {
          this.bytesOut += n;
        },
        request: (ci) => {
          this.requests++;
          if (this.listenerCount('request') > 0) this.emit('request', ci);
        },
        backpressure: (ci, paused) => this.emit('backpressure', ci, paused),
        closed: (c) => {
          this.connections.delete(c);
          const left = (this.perIp.get(ip) ?? 1) - 1;
          if (left > 0) this.perIp.set(ip, left);
          else this.perIp.delete(ip);
          this.logger.debug({ conn: c.info.id }, 'kafka connection closed');
          this.emit('disconnect', c.info);
        },
      },
    );
    this.connections.add(conn);
    this.totalConnections++;
    this.logger.debug({ conn: info.id, remote: `${info.remoteAddress}:${info.remotePort}` }, 'kafka connection opened');
    this.emit('connection', info);
  }
}
