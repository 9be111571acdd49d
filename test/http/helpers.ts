// A real Floe node in-process (startNode) on a temp dir with ports 0, plus a small fetch wrapper.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultBrokerConfig } from '../../broker/config/index.js';
import { startNode, type FloeNode } from '../../api/node.js';

export interface TestNode {
  node: FloeNode;
  dataDir: string;
  base: string;
  token: string;
  bootstrap: string;
  /** JSON request with the node's token (unless headers override it). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  close(): Promise<void>;
}

export async function startTestNode(overrides: Record<string, unknown> = {}): Promise<TestNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'floe-http-'));
  const config = defaultBrokerConfig({
    dataDir,
    kafkaHost: '127.0.0.1',
    kafkaPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    groupInitialRebalanceDelayMs: 0,
    ...overrides,
  });
  const log = pino({ level: process.env.FLOE_TEST_LOG ?? 'silent' });
  const saved = { tokens: process.env.FLOE_API_TOKENS, auth: process.env.FLOE_HTTP_AUTH };
  delete process.env.FLOE_API_TOKENS;
  delete process.env.FLOE_HTTP_AUTH;
  let node: FloeNode;
  try {
    node = await startNode(config, log);
  } finally {
    if (saved.tokens !== undefined) process.env.FLOE_API_TOKENS = saved.tokens;
    if (saved.auth !== undefined) process.env.FLOE_HTTP_AUTH = saved.auth;
  }
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim();
  const base = node.http.url;
  const call: TestNode['call'] = async (method, path, body, headers = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  };
  return {
    node,
    dataDir,
    base,
    token,
    bootstrap: `127.0.0.1:${node.kafka.port}`,
    call,
    async close() {
      await node.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Minimal Prometheus text-format parser: sample name + sorted labels -> value. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels: string[] = [];
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l; (l = re.exec(m[3] ?? '')); ) labels.push(`${l[1]}=${l[2]}`);
    labels.sort();
    const v = m[4]!;
    out.set(`${m[1]}{${labels.join(',')}}`, v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (no timing assertions: only a generous cap). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, capMs = 20_000): Promise<T> {
  const end = Date.now() + capMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
