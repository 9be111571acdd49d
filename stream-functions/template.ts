// What `floe fn init` writes: a typed, working function to start from.

export function functionTemplate(name: string): string {
  return `// A Floe stream function. Deploy it with:
//   floe fn deploy ./${name}.ts --name ${name} -i <input-topic> -o <output-topic> [--table <table>]
import { defineFunction } from 'floe/functions';

interface Event {
  id?: string;
  text?: string;
  [field: string]: unknown;
}

export default defineFunction({
  name: '${name}',

  // Created on deploy when --table names a table that does not exist yet.
  table: {
    primaryKey: 'id',
    columns: [
      { name: 'id', type: 'string' },
      { name: 'text', type: 'string' },
    ],
  },

  // Runs once per worker thread before the first record (time-limited).
  init(ctx) {
    ctx.logger.info('starting', { vars: ctx.vars });
  },

  // Called for each record, in offset order within a partition. Throwing retries the record
  // (with backoff); after the last attempt it goes to the dead-letter topic ${name}.dlq.
  process(record, ctx) {
    const event = record.json<Event>();
    const text = String(event.text ?? '');
    ctx.metrics.count('seen');
    if (ctx.outputs.length > 0) {
      ctx.emit(undefined, { key: record.key, value: { ...event, length: text.length, upper: text.toUpperCase() } });
    }
    if (ctx.table) {
      // Upserts are idempotent: a replay after a crash rewrites the same row.
      ctx.upsert(undefined, [{ id: event.id ?? \`\${record.topic}-\${record.partition}-\${record.offset}\`, text }]);
    }
  },
});
`;
}
