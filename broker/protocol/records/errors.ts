// Kafka error codes produced by record decoding and validation (error-codes.tsv).

export const CORRUPT_MESSAGE = 2;
export const MESSAGE_TOO_LARGE = 10;
export const RECORD_LIST_TOO_LARGE = 18;
export const INVALID_TIMESTAMP = 32;
export const UNSUPPORTED_COMPRESSION_TYPE = 76;
export const INVALID_RECORD = 87;

const NAMES: Record<number, string> = {
  [CORRUPT_MESSAGE]: 'CORRUPT_MESSAGE',
  [MESSAGE_TOO_LARGE]: 'MESSAGE_TOO_LARGE',
  [RECORD_LIST_TOO_LARGE]: 'RECORD_LIST_TOO_LARGE',
  [INVALID_TIMESTAMP]: 'INVALID_TIMESTAMP',
  [UNSUPPORTED_COMPRESSION_TYPE]: 'UNSUPPORTED_COMPRESSION_TYPE',
  [INVALID_RECORD]: 'INVALID_RECORD',
};

export function errorName(code: number): string {
  return NAMES[code] ?? `ERROR_${code}`;
}

/** Thrown by the decoders; carries the Kafka error code a broker would answer with. */
export class RecordsError extends Error {
  readonly code: number;
  readonly errorName: string;
  /** Index of the offending record inside its batch, when one record is to blame. */
  recordIndex?: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'RecordsError';
    this.code = code;
    this.errorName = errorName(code);
  }
}

export function corrupt(message: string): RecordsError {
  return new RecordsError(CORRUPT_MESSAGE, message);
}

export function invalidRecord(message: string): RecordsError {
  return new RecordsError(INVALID_RECORD, message);
}
