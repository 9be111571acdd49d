export { KafkaServer, type KafkaServerEvents } from './kafka-server.js';
export { FrameDecoder, FrameSizeError } from '../protocol/frame-decoder.js';
export { ResponseOrder } from './response-order.js';
export { BufferPool } from './buffer-pool.js';
export { releaseAfterWrite } from './write-release.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_QUEUED_REQUEST_BYTES,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
  DEFAULT_WRITE_HIGH_WATER_BYTES,
  type ConnectionInfo,
  type ConnectionStats,
  type FrameHandler,
  type KafkaServerOptions,
} from './types.js';
export { RequestMemory } from './request-memory.js';
export { LogLimiter } from './log-limiter.js';
