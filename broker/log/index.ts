export { DEFAULT_LOG_CONFIG, type LogConfig } from './config.js';
export { LogError, type LogErrorCode } from './errors.js';
export { FsyncScheduler } from './fsync-scheduler.js';
export { LogManager } from './log-manager.js';
export type { Logger } from './logger.js';
export { PartitionLog, type AppendResult, type PartitionLogOptions, type SealedSegmentInfo } from './partition-log.js';
export type { ProducerInfo } from './producer-state.js';
export { SegmentRewrite } from './segment-rewrite.js';
