// `floe table ...`: tables over the HTTP API (--api / FLOE_API, token from FLOE_API_TOKEN or the
// data dir's api-token file). Output is JSON; errors are one line on stderr and exit code 1.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../../../broker/client/errors.js';
import { collect, intArg, out, reportError } from './common.js';

export const DEFAULT_API = 'http://127.0.0.1:8080';

interface ApiOptions {
  api?: string;
  token?: string;
  dataDir?: string;
}

async function tokenOf(o: ApiOptions): Promise<string | undefined> {
  if (o.token) return o.token;
  if (process.env.FLOE_API_TOKEN) return process.env.FLOE_API_TOKEN;
  const dir = o.dataDir ?? process.env.FLOE_DATA_DIR ?? './data';
  try {
    const first = (await readFile(join(dir, 'api-token'), 'utf8')).split(/[\s,]+/).find((t) => t.length > 0);
    return first;
  } catch {
    return undefined;
  }
}

class ApiClient {
  constructor(
    private readonly base: string,
    private readonly token: string | undefined,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base.replace(/\/+$/, '') + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`cannot reach the HTTP API at ${this.base}: ${cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    if (!res.ok) {
      const msg = (parsed as { message?: string } | undefined)?.message ?? (text || res.statusText);
      const code = (parsed as { error_code?: unknown } | undefined)?.error_code;
      throw new Error(`${res.status}${code !== undefined && code !== res.status ? ` ${String(code)}` : ''}: ${msg}`);
    }
    return parsed as T;
  }
}

const enc = encodeURIComponent;

function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `@file` reads a file, `-` reads stdin, anything else is the JSON text itself. */
async function jsonArg(what: string, v: string): Promise<unknown> {
  if (v === '-') return parseJson(what, await readStdin());
  if (v.startsWith('@')) return parseJson(what, await readFile(v.slice(1), 'utf8'));
  return parseJson(what, v);
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** Rows from JSON lines (or one JSON array). */
function parseRows(text: string): unknown[] {
  const t = text.trim();
  if (t.length === 0) return [];
  if (t.startsWith('[')) {
    const v = parseJson('rows', t);
    if (!Array.isArray(v)) throw new UsageError('rows must be a JSON array or JSON lines');
    return v;
  }
  return t.split('\n').filter((l) => l.trim().length > 0).map((l, i) => parseJson(`row on line ${i + 1}`, l));
}

/** name:type[?] — a trailing ? makes the column nullable. */
function parseColumn(spec: string): { name: string; type: string; nullable?: boolean } {
  const m = /^([^:]+):([a-z]+)(\?)?$/.exec(spec);
  if (!m) throw new UsageError(`--column expects name:type[?], got "${spec}"`);
  return m[3] ? { name: m[1]!, type: m[2]!, nullable: true } : { name: m[1]!, type: m[2]! };
}

/** name:dim[:metric] (metric default cosine). */
function parseVector(spec: string): { name: string; dim: number; metric: string } {
  const m = /^([^:]+):(\d+)(?::([a-z0-9]+))?$/.exec(spec);
  if (!m) throw new UsageError(`--vector expects name:dim[:metric], got "${spec}"`);
  return { name: m[1]!, dim: Number(m[2]), metric: m[3] ?? 'cosine' };
}

/** column:source:model, where model is a name or a JSON object ({"type":"onnx",...}). */
function parseEmbedder(spec: string): { column: string; source: string; model: unknown } {
  const first = spec.indexOf(':');
  const second = first < 0 ? -1 : spec.indexOf(':', first + 1);
  const column = spec.slice(0, Math.max(first, 0));
  const source = first < 0 || second < 0 ? '' : spec.slice(first + 1, second);
  const model = second < 0 ? '' : spec.slice(second + 1);
  if (column === '' || source === '' || model === '') throw new UsageError(`--embedder expects vectorColumn:sourceColumn:model, got "${spec}"`);
  if (!model.startsWith('{')) return { column, source, model };
  try {
    return { column, source, model: JSON.parse(model) as unknown };
  } catch (err) {
    throw new UsageError(`--embedder model is not valid JSON: ${(err as Error).message}`);
  }
}

function printJson(v: unknown): void {
  out(JSON.stringify(v, null, 2) + '\n');
}

function apiOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--api <url>', `HTTP API base URL (env FLOE_API, default ${DEFAULT_API})`))
    .addOption(new Option('--token <token>', 'API token (env FLOE_API_TOKEN, else <data-dir>/api-token)'))
    .addOption(new Option('--data-dir <dir>', 'where to find the api-token file (env FLOE_DATA_DIR, default ./data)'));
}

/** Runs a command body with an API client; any error becomes one line on stderr and exit code 1. */
function action<A extends unknown[]>(body: (api: ApiClient, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    try {
      const o = cmd.optsWithGlobals<ApiOptions>();
      const api = new ApiClient(o.api ?? process.env.FLOE_API ?? DEFAULT_API, await tokenOf(o));
      await body(api, ...(args.slice(0, -1) as A));
    } catch (err) {
      reportError((err as Error).message);
    }
  };
}

export function registerTableCommands(program: Command): void {
  const table = program.command('table').description('create, inspect, write and search tables (over the HTTP API)');

  apiOptions(
    table
      .command('create <name>')
      .description('create a table from flags or a JSON schema (--schema \'{...}\' | @file | -)')
      .option('--schema <json>', 'whole schema as JSON (name defaults to <name>)')
      .option('--pk <column>', 'primary key column (string or int)')
      .option('--column <name:type[?]>', 'scalar column: string, int, float, bool, timestamp, json (repeatable)', collect)
      .option('--vector <name:dim[:metric]>', 'vector column, metric cosine|l2|ip (repeatable)', collect)
      .option('--embedder <column:source:model>', 'fill vector <column> from text <source> with model use-lite, hashing or a JSON model object'),
  ).action(
    action(async (api, name: string, o: { schema?: string; pk?: string; column?: string[]; vector?: string[]; embedder?: string }) => {
      let schema: Record<string, unknown>;
      if (o.schema !== undefined) {
        const s = await jsonArg('--schema', o.schema);
        if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new UsageError('--schema must be a JSON object');
        schema = { name, ...(s as Record<string, unknown>) };
      } else {
        if (!o.pk) throw new UsageError('give --pk and --column flags, or --schema');
        schema = { name, primaryKey: o.pk, columns: (o.column ?? []).map(parseColumn), vectors: (o.vector ?? []).map(parseVector) };
        if (o.embedder) schema.embedder = parseEmbedder(o.embedder);
      }
      printJson(await api.call('POST', '/v1/tables', schema));
    }),
  );

  apiOptions(table.command('list').description('list tables').option('--json', 'JSON output')).action(
    action(async (api, o: { json?: boolean }) => {
      const r = await api.call<{ tables: Array<{ name: string; rows: number }> }>('GET', '/v1/tables');
      if (o.json) out(JSON.stringify(r.tables) + '\n');
      else for (const t of r.tables) out(`${t.name}\t${t.rows}\n`);
    }),
  );

  apiOptions(table.command('describe <name>').description('schema, stats and topics of a table')).action(
    action(async (api, name: string) => printJson(await api.call('GET', `/v1/tables/${enc(name)}`))),
  );

  apiOptions(table.command('drop <name>').description('drop a table with its snapshots and topics')).action(
    action(async (api, name: string) => {
      await api.call('DELETE', `/v1/tables/${enc(name)}`);
      out(`dropped ${name}\n`);
    }),
  );

  apiOptions(
    table
      .command('add-column <name> <column>')
      .description('add a nullable scalar column, given as name:type'),
  ).action(
    action(async (api, name: string, column: string) => printJson(await api.call('POST', `/v1/tables/${enc(name)}/columns`, parseColumn(column)))),
  );

  apiOptions(
    table
      .command('upsert <name>')
      .description('upsert rows: JSON lines or a JSON array on stdin, or --row (all or nothing)')
      .option('--row <json>', 'one row as JSON (repeatable)', collect)
      .option('--file <path>', 'read rows from a file instead of stdin'),
  ).action(
    action(async (api, name: string, o: { row?: string[]; file?: string }) => {
      const rows = o.row ? o.row.map((r, i) => parseJson(`--row ${i + 1}`, r)) : parseRows(o.file ? await readFile(o.file, 'utf8') : await readStdin());
      if (rows.length === 0) throw new UsageError('no rows given');
      printJson(await api.call('POST', `/v1/tables/${enc(name)}/rows`, { rows }));
    }),
  );

  apiOptions(
    table
      .command('delete <name> <keys...>')
      .description('delete rows by primary key')
      .option('--int', 'keys are integers'),
  ).action(
    action(async (api, name: string, keys: string[], o: { int?: boolean }) => {
      const parsed = keys.map((k) => {
        if (!o.int) return k;
        if (!/^-?\d+$/.test(k)) throw new UsageError(`--int: "${k}" is not an integer`);
        return Number(k);
      });
      printJson(await api.call('DELETE', `/v1/tables/${enc(name)}/rows`, { keys: parsed }));
    }),
  );

  apiOptions(table.command('get <name> <key>').description('one row by primary key').option('--vectors', 'include vector columns')).action(
    action(async (api, name: string, key: string, o: { vectors?: boolean }) => {
      const r = await api.call<{ row: unknown }>('GET', `/v1/tables/${enc(name)}/rows/${enc(key)}${o.vectors ? '?include_vectors=true' : ''}`);
      out(JSON.stringify(r.row) + '\n');
    }),
  );

  apiOptions(
    table
      .command('search <name>')
      .description('k nearest neighbours by --vector or --text')
      .option('--vector <json>', 'query vector as a JSON array')
      .option('--text <text>', 'query text (tables with an embedder)')
      .option('-k, --k <n>', 'number of hits', intArg('k', 1, 10_000), 10)
      .option('--ef <n>', 'HNSW search breadth', intArg('ef', 1, 100_000))
      .option('--filter <json>', 'filter as JSON (eq/range/in/and/or/not)')
      .option('--column <name>', 'vector column (when the table has several)')
      .option('--strong', 'wait until the table has applied every write so far'),
  ).action(
    action(async (api, name: string, o: { vector?: string; text?: string; k: number; ef?: number; filter?: string; column?: string; strong?: boolean }) => {
      if ((o.vector === undefined) === (o.text === undefined)) throw new UsageError('give exactly one of --vector or --text');
      const body: Record<string, unknown> = { k: o.k };
      if (o.vector !== undefined) body.vector = parseJson('--vector', o.vector);
      if (o.text !== undefined) body.text = o.text;
      if (o.ef !== undefined) body.ef = o.ef;
      if (o.filter !== undefined) body.filter = parseJson('--filter', o.filter);
      if (o.column !== undefined) body.column = o.column;
      if (o.strong) body.consistency = 'strong';
      const r = await api.call<{ hits: unknown[] }>('POST', `/v1/tables/${enc(name)}/search`, body);
      for (const h of r.hits) out(JSON.stringify(h) + '\n');
    }),
  );

  apiOptions(table.command('count <name>').description('number of rows (matching --filter)').option('--filter <json>', 'filter as JSON')).action(
    action(async (api, name: string, o: { filter?: string }) => {
      const r = await api.call<{ count: number }>('POST', `/v1/tables/${enc(name)}/count`, o.filter === undefined ? {} : { filter: parseJson('--filter', o.filter) });
      out(`${r.count}\n`);
    }),
  );

  apiOptions(
    table
      .command('scan <name>')
      .description('rows in key order as JSON lines; the next page token goes to stderr')
      .option('--filter <json>', 'filter as JSON')
      .option('--limit <n>', 'rows per page', intArg('limit', 1, 10_000), 100)
      .option('--page-token <token>', 'continue after a previous page')
      .option('--all', 'follow page tokens to the end'),
  ).action(
    action(async (api, name: string, o: { filter?: string; limit: number; pageToken?: string; all?: boolean }) => {
      let token = o.pageToken;
      const filter = o.filter === undefined ? undefined : parseJson('--filter', o.filter);
      for (;;) {
        const body: Record<string, unknown> = { limit: o.limit };
        if (filter !== undefined) body.filter = filter;
        if (token !== undefined) body.page_token = token;
        const r = await api.call<{ rows: unknown[]; next_page_token?: string }>('POST', `/v1/tables/${enc(name)}/scan`, body);
        for (const row of r.rows) out(JSON.stringify(row) + '\n');
        token = r.next_page_token;
        if (token === undefined) return;
        if (!o.all) {
          process.stderr.write(`next page: --page-token ${token}\n`);
          return;
        }
      }
    }),
  );
}
