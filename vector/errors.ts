/** Error codes let the HTTP/Kafka layers map failures without parsing messages. */
export type TableErrorCode =
  | 'INVALID_SCHEMA'
  | 'INVALID_ROW'
  | 'INVALID_KEY'
  | 'INVALID_FILTER'
  | 'INVALID_QUERY'
  | 'INVALID_PAGE_TOKEN'
  | 'TABLE_EXISTS'
  | 'TABLE_NOT_FOUND'
  | 'TABLE_CLOSED'
  | 'EMBEDDER_UNAVAILABLE'
  | 'TIMEOUT';

export class TableError extends Error {
  readonly code: TableErrorCode;
  constructor(code: TableErrorCode, message: string) {
    super(message);
    this.name = 'TableError';
    this.code = code;
  }
}
