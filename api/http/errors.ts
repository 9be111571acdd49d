// One error shape for every HTTP failure: { error_code, message }. error_code is the Kafka error
// name when a Kafka error caused it (so it can be looked up), else the HTTP status.
import { ErrorCode, errorName } from '../../broker/protocol/generated/error-codes.js';

export interface ErrorBody {
  error_code: number | string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 400, message);
export const notFound = (message: string): HttpError => new HttpError(404, 404, message);
export const conflict = (message: string): HttpError => new HttpError(409, 409, message);
export const unprocessable = (message: string): HttpError => new HttpError(422, 422, message);

const E = ErrorCode;

/** HTTP status for a Kafka error code: what the client did wrong, or that the server is busy. */
export function statusForKafkaCode(code: number): number {
  switch (code) {
    case E.UNKNOWN_TOPIC_OR_PARTITION:
    case E.UNKNOWN_TOPIC_ID:
    case E.GROUP_ID_NOT_FOUND:
    case E.UNKNOWN_MEMBER_ID:
      return 404;
    case E.TOPIC_ALREADY_EXISTS:
    case E.NON_EMPTY_GROUP:
    case E.GROUP_SUBSCRIBED_TO_TOPIC:
    case E.REBALANCE_IN_PROGRESS:
    case E.ILLEGAL_GENERATION:
      return 409;
    case E.MESSAGE_TOO_LARGE:
    case E.RECORD_LIST_TOO_LARGE:
      return 413;
    case E.INVALID_TOPIC_EXCEPTION:
    case E.INVALID_REQUEST:
    case E.INVALID_GROUP_ID:
      return 400;
    case E.OFFSET_OUT_OF_RANGE:
    case E.INVALID_PARTITIONS:
    case E.INVALID_REPLICATION_FACTOR:
    case E.INVALID_CONFIG:
    case E.INVALID_TIMESTAMP:
    case E.INVALID_RECORD:
    case E.CORRUPT_MESSAGE:
    case E.OFFSET_METADATA_TOO_LARGE:
    case E.INVALID_TXN_STATE:
      return 422;
    case E.TOPIC_DELETION_DISABLED:
      return 403;
    case E.COORDINATOR_LOAD_IN_PROGRESS:
    case E.COORDINATOR_NOT_AVAILABLE:
    case E.NOT_COORDINATOR:
    case E.KAFKA_STORAGE_ERROR:
    case E.LEADER_NOT_AVAILABLE:
    case E.NOT_LEADER_OR_FOLLOWER:
      return 503;
    default:
      return 500;
  }
}

export function kafkaError(code: number, message?: string | null): HttpError {
  return new HttpError(statusForKafkaCode(code), errorName(code), message || `Kafka error ${errorName(code)}`);
}

/** JSON schema of the error body, used in every route's responses. */
export const errorSchema = {
  type: 'object',
  required: ['error_code', 'message'],
  properties: {
    error_code: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
    message: { type: 'string' },
  },
} as const;
