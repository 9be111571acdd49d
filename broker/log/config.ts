export interface LogConfig {
  /** Roll when the active segment would exceed this size. */
  segmentBytes: number;
  /** Roll when the active segment is older than this. */
  segmentMs: number;
  /** -1 = infinite. */
  retentionMs: number;
  /** -1 = infinite (per partition). */
  retentionBytes: number;
  indexIntervalBytes: number;
  /** Largest batch accepted. */
  maxMessageBytes: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  /** Delay before a retired segment file is unlinked, so in-flight reads finish. */
  fileDeleteDelayMs: number;
  /** Idle producers are forgotten after this long (Kafka producer.id.expiration.ms). */
  producerIdExpirationMs?: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1048588,
  timestampType: 'CreateTime',
  fileDeleteDelayMs: 60000,
  producerIdExpirationMs: 86400000,
});
