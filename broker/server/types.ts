import type { Logger } from 'pino';

export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

/**
 * Handles one request frame (the bytes after the 4-byte length prefix). Returns the response
 * frame body (without length prefix) as one or more buffers, so large record buffers are not
 * copied, or null for no response (Produce acks=0). Throwing or rejecting closes the connection:
 * do that only for frames that cannot be parsed enough to answer.
 */
export type FrameHandler = (
  frame: Buffer,
  conn: ConnectionInfo,
) => Promise<Buffer[] | null> | Buffer[] | null;

export interface KafkaServerOptions {
  host: string;
  /** 0 picks an ephemeral port; listen() reports the real one. */
  port: number;
  handler: FrameHandler;
  /** Largest accepted request frame (Kafka socket.request.max.bytes). Default 100 MiB. */
  maxRequestBytes?: number;
  /** Close connections with no traffic for this long (connections.max.idle.ms). <= 0 disables. Default 600000. */
  idleTimeoutMs?: number;
  /** Unanswered requests per connection before reading pauses. Default 64. */
  maxInFlightPerConnection?: number;
  /** Pause reading while the socket's unsent output exceeds this. Default 4 MiB. */
  writeHighWaterBytes?: number;
  /**
   * Frames whose buffer may be reused as soon as their handler resolved: neither the handler's
   * state nor its answer may keep a view of them (a handler that failed never has its frame reused). Default: Produce requests (their records are on
   * disk by then). Return false always to turn reuse off.
   */
  reusableFrame?: (frame: Buffer) => boolean;
  logger?: Logger;
  /** queued.max.request.bytes: request bytes held over all connections; <= 0 = unbounded. Default 512 MiB. */
  maxQueuedRequestBytes?: number;
  /** max.connections: more are closed at accept. Default unlimited. */
  maxConnections?: number;
  /** max.connections.per.ip, and per-address exceptions (normalized IPs). Default unlimited. */
  maxConnectionsPerIp?: number;
  maxConnectionsPerIpOverrides?: ReadonlyMap<string, number>;
  /** A started request frame must be complete within this; <= 0 disables. Default 30 s. */
  requestReceiveTimeoutMs?: number;
}

const PRODUCE_API_KEY = 0;

/** Produce frames: the handler answers only after the records were written to the log. */
export function isProduceFrame(frame: Buffer): boolean {
  return frame.length >= 2 && frame.readInt16BE(0) === PRODUCE_API_KEY;
}

/** Point-in-time view of one connection, for metrics and tests. */
export interface ConnectionStats {
  info: ConnectionInfo;
  /** Requests dispatched whose response has not been written yet. */
  inFlight: number;
  /** Frames read but not dispatched yet because the in-flight limit was reached. */
  queuedFrames: number;
  /** Bytes handed to the socket but not yet flushed to the kernel. */
  writableLength: number;
  /** Whether reading is currently paused for backpressure (per connection or broker-wide). */
  paused: boolean;
  /** Bytes of request frames held: partial, queued and being handled. */
  heldBytes: number;
}

export const DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_IN_FLIGHT = 64;
export const DEFAULT_WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_REQUEST_BYTES = 512 * 1024 * 1024;
export const DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS = 30_000;
