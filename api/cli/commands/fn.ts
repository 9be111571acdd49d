// `floe fn ...`: init, deploy, list, status, logs, pause, resume, rollback, versions, delete.
// Talks to a node's HTTP API (--api / FLOE_API) with its token (--token / FLOE_API_TOKEN, else
// <data-dir>/api-token).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError } from 'commander';
import { collect, intArg, keyValue, out, reportError, table } from './common.js';
import type { FunctionStatus, FunctionSummary } from '../../../stream-functions/runtime.js';
import type { GroupView } from '../../../stream-functions/group-view.js';
import type { LogLine } from '../../../stream-functions/log-buffer.js';

interface ApiOpts {
  api?: string;
  token?: string;
  dataDir?: string;
}

const BUILTINS = ['embed', 'materialize', 'reason'];

class Api {
  constructor(
    private readonly base: string,
    private readonly token: string | undefined,
  ) {}

  static of(cmd: Command): Api {
    const o = cmd.optsWithGlobals<ApiOpts>();
    const base = (o.api ?? process.env.FLOE_API ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    let token = o.token ?? process.env.FLOE_API_TOKEN ?? process.env.FLOE_API_TOKENS?.split(',')[0]?.trim();
    if (!token) {
      const file = resolve(o.dataDir ?? process.env.FLOE_DATA_DIR ?? './data', 'api-token');
      if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
    }
    return new Api(base, token);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`cannot reach the Floe HTTP API at ${this.base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    const parsed: unknown = text.length > 0 ? JSON.parse(text) : null;
    if (!res.ok) {
      const msg = (parsed as { message?: string } | null)?.message ?? text;
      throw new Error(`${res.status}: ${msg}`);
    }
    return parsed as T;
  }
}

function withApi(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'HTTP API of a Floe node (env FLOE_API, default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env FLOE_API_TOKEN; default: <data-dir>/api-token)')
    .option('--data-dir <dir>', 'where to find api-token when no token is given (default ./data)');
}

async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    reportError((err as Error).message);
  }
}

// The HTTP API's response shapes (type-only: the CLI loads nothing of the runtime).
type Summary = FunctionSummary;
/** `group` is absent from servers older than cluster support. */
type Status = FunctionStatus & { group?: GroupView };

function printStatus(s: Status): void {
  out(`${s.name}  v${s.version}  ${s.state}${s.failure ? ` (${s.failure})` : ''}  ${s.kind}\n`);
  out(`inputs ${s.inputs.join(',')}  outputs ${s.outputs.join(',') || '-'}  table ${s.table ?? '-'}  group ${s.groupId}  dlq ${s.dlqTopic}  node ${s.node}\n`);
  const t = s.totals;
  out(`processed ${t.processed}  errors ${t.errors}  dead-lettered ${t.deadLettered}  lag ${t.lag}  ${t.throughput} rec/s\n`);
  if (Object.keys(s.counters).length > 0) out(`metrics ${Object.entries(s.counters).map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
  out('\n');
  out(
    table(
      ['TOPIC', 'PARTITION', 'POSITION', 'END', 'LAG', 'PROCESSED', 'REC/S', 'MS/REC', 'E2E-MS', 'ERRORS', 'DLQ', 'LAST-ERROR'],
      s.partitions.map((p) => [p.topic, p.partition, p.position, p.highWatermark, p.lag, p.processed, p.throughput, p.latencyMs, p.endToEndMs, p.errors, p.deadLettered, p.lastError ?? '']),
    ),
  );
  const g = s.group;
  if (!g) return;
  out(`\ngroup ${s.groupId}: ${g.state}, ${g.members.length} member(s)${g.error ? ` (${g.error})` : ''}\n`);
  const rows = g.members.flatMap((m) =>
    m.partitions.length === 0
      ? [[m.node ?? '-', m.memberId, '-', '-', '-', '-', '-']]
      : m.partitions.map((p) => [m.node ?? '-', m.memberId, p.topic, p.partition, p.committed < 0 ? '-' : p.committed, p.highWatermark, p.lag]),
  );
  if (rows.length > 0) out(table(['NODE', 'MEMBER', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'], rows));
}

function printLog(l: LogLine): void {
  const fields = l.fields ? ` ${JSON.stringify(l.fields)}` : '';
  out(`${new Date(l.time).toISOString()} v${l.version} ${l.source === 'fn' ? 'fn ' : 'rt '} ${l.level.toUpperCase().padEnd(5)} ${l.msg}${fields}\n`);
}

function parseLimits(v: string, prev: Record<string, number> = {}): Record<string, number> {
  const i = v.indexOf('=');
  const n = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isFinite(n)) throw new InvalidArgumentError(`expected limit=number, got "${v}"`);
  return { ...prev, [v.slice(0, i)]: n };
}

export function registerFnCommands(program: Command): void {
  const fn = program.command('fn').description('stream functions: deploy TypeScript functions and built-ins onto topics');

  fn.command('init')
    .description('write a typed function template')
    .argument('[file]', 'file to create', 'fn.ts')
    .option('--name <name>', 'function name (default: the file name)')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, o: { name?: string; force?: boolean }) => {
      await run(async () => {
        const { functionTemplate } = await import('../../../stream-functions/template.js');
        const path = resolve(file);
        if (existsSync(path) && !o.force) throw new Error(`${file} exists (use --force to overwrite)`);
        const name = o.name ?? (file.replace(/^.*\//, '').replace(/\.[cm]?[jt]s$/, '') || 'my-fn');
        writeFileSync(path, functionTemplate(name));
        out(`wrote ${file}; deploy it with: floe fn deploy ${file} --name ${name} -i <topic> [-o <topic>]\n`);
      });
    });

  withApi(
    fn
      .command('deploy')
      .description(`deploy a function file (bundled here, uploaded) or a built-in (${BUILTINS.join(', ')}); makes the next version`)
      .argument('<source>', 'a .ts/.js file, or a built-in name')
      .requiredOption('--name <name>', 'function name')
      .option('-i, --input <topic>', 'input topic (repeatable)', collect)
      .option('-o, --output <topic>', 'output topic (repeatable)', collect)
      .option('--table <table>', 'table for ctx.upsert/ctx.search (created when the function defines its schema)')
      .option('--var <key=value>', 'variable passed as ctx.vars (repeatable)', keyValue)
      .option('--from-offset <where>', 'start for partitions without a committed offset: earliest|latest|<offset>|@<ms> (default earliest)')
      .option('--parallelism <n>', 'worker threads on each node (default 1)', intArg('parallelism', 1, 64))
      .option('--limit <name=value>', 'recordTimeoutMs, startupTimeoutMs, memoryMb, maxAttempts, backoffMs, maxBatchRecords (repeatable)', parseLimits),
  ).action(async (source: string, o: { name: string; input?: string[]; output?: string[]; table?: string; var?: Array<[string, string]>; fromOffset?: string; parallelism?: number; limit?: Record<string, number> }, cmd: Command) => {
    await run(async () => {
      if (!o.input || o.input.length === 0) throw new Error('at least one input topic is required (-i <topic>)');
      const body: Record<string, unknown> = {
        name: o.name,
        inputs: o.input,
        outputs: o.output ?? [],
        table: o.table ?? null,
        vars: Object.fromEntries(o.var ?? []),
        ...(o.fromOffset !== undefined ? { from_offset: o.fromOffset } : {}),
        ...(o.parallelism !== undefined ? { parallelism: o.parallelism } : {}),
        ...(o.limit !== undefined ? { limits: o.limit } : {}),
      };
      if (!existsSync(source) && BUILTINS.includes(source)) body.builtin = source;
      else {
        if (!existsSync(source)) throw new Error(`${source} is neither a file nor a built-in (${BUILTINS.join(', ')})`);
        process.stderr.write(`bundling ${source}...\n`);
        const { bundleFunction } = await import('../../../stream-functions/bundle.js');
        const { code, warnings } = await bundleFunction(resolve(source));
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        process.stderr.write(`uploading ${code.length} bytes...\n`);
        body.code_base64 = code.toString('base64');
      }
      const s = await Api.of(cmd).call<Status>('POST', '/v1/functions', body);
      out(`deployed ${s.name} v${s.version} (${s.state})\n`);
    });
  });

  withApi(fn.command('list').description('list deployed functions').option('--json', 'JSON output')).action(async (o: { json?: boolean }, cmd: Command) => {
    await run(async () => {
      const { functions } = await Api.of(cmd).call<{ functions: Summary[] }>('GET', '/v1/functions');
      if (o.json) return out(JSON.stringify(functions) + '\n');
      out(table(['NAME', 'VERSION', 'STATE', 'KIND', 'INPUTS', 'OUTPUTS', 'TABLE', 'PARALLELISM'], functions.map((f) => [f.name, `v${f.version}`, f.state, f.kind, f.inputs.join(','), f.outputs.join(',') || '-', f.table ?? '-', f.parallelism])));
    });
  });

  withApi(fn.command('status').description('state, lag, throughput, errors and latency per partition on the node asked, and every member\'s partitions and lag on any node').argument('<name>').option('--json', 'JSON output')).action(
    async (name: string, o: { json?: boolean }, cmd: Command) => {
      await run(async () => {
        const s = await Api.of(cmd).call<Status>('GET', `/v1/functions/${encodeURIComponent(name)}`);
        if (o.json) out(JSON.stringify(s) + '\n');
        else printStatus(s);
      });
    },
  );

  withApi(fn.command('versions').description('list a function\'s versions').argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
    await run(async () => {
      const s = await Api.of(cmd).call<Status>('GET', `/v1/functions/${encodeURIComponent(name)}`);
      out(table(['VERSION', 'ACTIVE'], s.versions.map((v) => [`v${v}`, v === s.version ? '*' : ''])));
    });
  });

  withApi(fn.command('logs').description('recent log lines of a function').argument('<name>').option('-f, --follow', 'keep printing new lines').option('-n, --lines <n>', 'how many recent lines', intArg('lines', 1, 2000))).action(
    async (name: string, o: { follow?: boolean; lines?: number }, cmd: Command) => {
      await run(async () => {
        const api = Api.of(cmd);
        const path = `/v1/functions/${encodeURIComponent(name)}/logs`;
        let r = await api.call<{ lines: LogLine[]; last: number }>('GET', `${path}?limit=${o.lines ?? 100}`);
        r.lines.forEach(printLog);
        let after = r.last;
        if (!o.follow) return;
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        while (!stop) {
          await sleep(1_000);
          r = await api.call<{ lines: LogLine[]; last: number }>('GET', `${path}?after=${after}`);
          r.lines.forEach(printLog);
          after = Math.max(after, r.last);
        }
      });
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    withApi(fn.command(action).description(`${action} a function`).argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
      await run(async () => {
        const s = await Api.of(cmd).call<Status>('POST', `/v1/functions/${encodeURIComponent(name)}/${action}`);
        out(`${s.name} v${s.version} ${s.state}\n`);
      });
    });
  }

  withApi(fn.command('rollback').description('run an earlier version: floe fn rollback name@v1').argument('<ref>', 'name@vN')).action(async (ref: string, _o: unknown, cmd: Command) => {
    await run(async () => {
      const m = /^([^@]+)@v?(\d+)$/.exec(ref);
      if (!m) throw new Error(`expected name@vN, got "${ref}"`);
      const s = await Api.of(cmd).call<Status>('POST', `/v1/functions/${encodeURIComponent(m[1]!)}/rollback`, { version: Number(m[2]) });
      out(`${s.name} now runs v${s.version} (${s.state})\n`);
    });
  });

  withApi(fn.command('delete').description('stop and remove a function (its topics, tables and offsets stay)').argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
    await run(async () => {
      await Api.of(cmd).call('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
      out(`deleted ${name}\n`);
    });
  });
}
