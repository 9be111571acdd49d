// Topic and group names of a table. A single leading underscore keeps them visible to Kafka
// clients (metadata marks only "__" topics internal) while grouping them away from user topics.
export interface TableTopics {
  /** Compacted changelog: key = primary key, value = JSON row, null = delete. */
  changelog: string;
  /** Rows produced here as JSON (null value + key = delete) are applied to the table. */
  input: string;
  /** Query records ({vector|text, k, filter, ef}) with reply-topic / correlation-id headers. */
  query: string;
  /** Input and query records that could not be applied, with the reason in the `error` header. */
  errors: string;
}

export const TABLE_TOPIC_PREFIX = '_floe.table.';

export function tableTopics(table: string): TableTopics {
  const base = `${TABLE_TOPIC_PREFIX}${table}`;
  return { changelog: `${base}.changelog`, input: `${base}.in`, query: `${base}.query`, errors: `${base}.errors` };
}

/** Consumer groups under which the node commits its input/query positions. */
export function tableGroups(table: string): { input: string; query: string } {
  const base = `${TABLE_TOPIC_PREFIX}${table}`;
  return { input: `${base}.input-applier`, query: `${base}.query-server` };
}
