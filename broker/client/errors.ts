// Errors the client raises. Each renders as one line a CLI can print as is.
import { ERROR_MESSAGES, ErrorCode } from '../protocol/generated/error-codes.js';

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code as number, name]));

/** Kafka's -1; the generated table starts at NONE. */
export const UNKNOWN_SERVER_ERROR = -1;

export function errorName(code: number): string {
  if (code === UNKNOWN_SERVER_ERROR) return 'UNKNOWN_SERVER_ERROR';
  return NAMES.get(code) ?? `UNKNOWN_ERROR_CODE_${code}`;
}

/** Codes a client may retry after refreshing metadata or backing off. */
const RETRIABLE = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.NOT_CONTROLLER,
]);

export function isRetriable(code: number): boolean {
  return RETRIABLE.has(code);
}

/** A Kafka error code from a broker, with the server's message when it sent one. */
export class KafkaError extends Error {
  override readonly name = 'KafkaError';
  readonly retriable: boolean;
  readonly codeName: string;

  constructor(
    readonly code: number,
    serverMessage?: string | null,
    context?: string,
  ) {
    const fallback = code === UNKNOWN_SERVER_ERROR ? 'The server experienced an unexpected error when processing the request.' : ERROR_MESSAGES[code] ?? '';
    const detail = serverMessage && serverMessage.length > 0 ? serverMessage : fallback;
    super(`${context ? `${context}: ` : ''}${errorName(code)}${detail ? `: ${detail}` : ''}`);
    this.retriable = isRetriable(code);
    this.codeName = errorName(code);
  }
}

/** Throws a KafkaError unless code is NONE. */
export function check(code: number, serverMessage?: string | null, context?: string): void {
  if (code !== ErrorCode.NONE) throw new KafkaError(code, serverMessage, context);
}

/** The broker could not be reached, or the connection broke. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

/** The broker does not serve an API (or no version both sides know). */
export class UnsupportedApiError extends Error {
  override readonly name = 'UnsupportedApiError';
}

/** A user mistake (bad flag, unknown topic); the CLI prints the message only. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
