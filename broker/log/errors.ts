export type LogErrorCode =
  | 'OFFSET_OUT_OF_RANGE'
  | 'INVALID_PRODUCER_EPOCH'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'CORRUPT_MESSAGE'
  | 'KAFKA_STORAGE_ERROR'
  | 'MESSAGE_TOO_LARGE';

/** An error whose `code` maps one-to-one onto a Kafka error code name. */
export class LogError extends Error {
  constructor(
    readonly code: LogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LogError';
  }
}
