// Static bearer tokens. Sources, first match wins: explicit options, FLOE_API_TOKENS (comma list),
// then <data>/api-token, generated on first start so a local `npm start` works out of the box.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { retry, RetryGaveUpError } from '../../broker/util/retry.js';
import { HttpError } from './errors.js';

export interface AuthOptions {
  /** false disables auth (only when explicitly configured off). */
  enabled?: boolean;
  tokens?: string[];
}

export interface AuthSettings {
  enabled: boolean;
  /** sha256 of each accepted token. */
  digests: Buffer[];
  /** Where the tokens came from, for the startup log. */
  source: 'off' | 'options' | 'env' | 'file' | 'generated';
  /** Set only when a token file was just created: shown once at startup. */
  generatedToken?: string;
  tokenFile?: string;
}

export const TOKEN_FILE = 'api-token';

const digest = (t: string): Buffer => createHash('sha256').update(t).digest();

class EmptyTokenFileError extends Error {}

/** The tokens in a token file (one per line or comma-separated); [] when it is empty. */
async function readTokenFile(file: string): Promise<string[]> {
  return parseList((await readFile(file, 'utf8')).replace(/\s+/g, ','));
}

function parseList(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** FLOE_HTTP_AUTH=off|false|0 turns auth off; anything else (or unset) keeps it on. */
export function authEnabledFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const v = env.FLOE_HTTP_AUTH?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (v === 'off' || v === 'false' || v === '0' || v === 'none') return false;
  if (v === 'on' || v === 'true' || v === '1') return true;
  throw new Error(`FLOE_HTTP_AUTH must be on or off, got "${env.FLOE_HTTP_AUTH}"`);
}

export async function resolveAuth(dataDir: string, opts: AuthOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<AuthSettings> {
  const enabled = opts.enabled ?? authEnabledFromEnv(env) ?? true;
  if (!enabled) return { enabled: false, digests: [], source: 'off' };
  if (opts.tokens && opts.tokens.length > 0) return { enabled, digests: opts.tokens.map(digest), source: 'options' };
  const fromEnv = parseList(env.FLOE_API_TOKENS);
  if (fromEnv.length > 0) return { enabled, digests: fromEnv.map(digest), source: 'env' };
  const tokenFile = join(dataDir, TOKEN_FILE);
  try {
    const stored = await readTokenFile(tokenFile);
    if (stored.length > 0) return { enabled, digests: stored.map(digest), source: 'file', tokenFile };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = `floe_${randomBytes(24).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  // wx: never overwrite a token another process wrote meanwhile (brokers of a cluster starting
  // together on one data dir); the loser uses the winner's token.
  try {
    await writeFile(tokenFile, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const stored = await retry(
      async () => {
        const t = await readTokenFile(tokenFile);
        if (t.length === 0) throw new EmptyTokenFileError(`${tokenFile} exists but stays empty`); // the winner is still writing it
        return t;
      },
      { attempts: 100, initialMs: 10, maxMs: 10, jitter: 0, retriable: (e) => e instanceof EmptyTokenFileError },
    ).catch((e: unknown) => {
      throw e instanceof RetryGaveUpError ? e.last : e;
    });
    return { enabled, digests: stored.map(digest), source: 'file', tokenFile };
  }
  return { enabled, digests: [digest(token)], source: 'generated', generatedToken: token, tokenFile };
}

/** The startup line for a generated token: where it is, never the token (logs are shared and kept). */
export function generatedTokenNotice(settings: AuthSettings): string {
  return `HTTP API token generated and stored in ${settings.tokenFile ?? TOKEN_FILE} (readable by this user only); set FLOE_API_TOKENS or FLOE_HTTP_AUTH=off to change`;
}

/** Routes reachable without a token (probes). */
const OPEN = new Set(['/healthz', '/readyz']);

export function isOpenRoute(url: string | undefined): boolean {
  return url !== undefined && OPEN.has(url);
}

export function tokenAccepted(settings: AuthSettings, header: string | undefined): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const d = digest(m[1]!);
  return settings.digests.some((x) => timingSafeEqual(x, d));
}

/** onRequest hook: 401 for a missing or unknown token. */
export function authHook(settings: AuthSettings) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!settings.enabled || isOpenRoute(req.routeOptions.url)) return;
    if (tokenAccepted(settings, req.headers.authorization)) return;
    reply.header('www-authenticate', 'Bearer realm="floe"');
    throw new HttpError(401, 401, req.headers.authorization ? 'unknown API token' : 'missing Authorization: Bearer <token> header');
  };
}
