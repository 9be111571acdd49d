import { setTimeout as sleep } from 'node:timers/promises';
import { TableError } from '../errors.js';
import { DEFAULT_OPENAI_BATCH, DEFAULT_OPENAI_RETRIES, DEFAULT_OPENAI_TIMEOUT_MS, type OpenAiModelSpec } from './config.js';

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 8_000;
const MAX_ERROR_TEXT = 300;

/** `<url>/v1/embeddings`, or the URL as given when it already names the embeddings route. */
export function embeddingsUrl(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith('/embeddings')) return u.href;
  // An OpenAI-style base URL often already ends in /v1.
  u.pathname = path.endsWith('/v1') ? `${path}/embeddings` : `${path}/v1/embeddings`;
  return u.href;
}

function unavailable(message: string): TableError {
  return new TableError('EMBEDDER_UNAVAILABLE', message);
}

/** Retryable failures carry how long the server asked us to wait, if it did. */
class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

function retryAfterMs(h: string | null): number | undefined {
  if (h === null) return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function errorText(res: Response): Promise<string> {
  const body = await res.text().catch(() => '');
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (typeof m === 'string') return m.slice(0, MAX_ERROR_TEXT);
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, MAX_ERROR_TEXT);
}

interface EmbeddingItem {
  embedding?: unknown;
  index?: unknown;
}

/**
 * Embeds through an OpenAI-compatible `/v1/embeddings` endpoint: batches of `batch` texts, a
 * timeout per request, retries with exponential backoff on 429/5xx/network errors, and vectors
 * put back in input order by their `index`.
 */
export class OpenAiEmbedder {
  readonly dim: number;
  private readonly endpoint: string;
  private readonly label: string;

  constructor(
    private readonly spec: OpenAiModelSpec,
    dim: number,
  ) {
    if (spec.dimensions !== undefined && spec.dimensions !== dim) {
      throw new TableError('INVALID_SCHEMA', `openai embedder: dimensions ${spec.dimensions} differs from the column's dim ${dim}`);
    }
    this.dim = dim;
    this.endpoint = embeddingsUrl(spec.url);
    this.label = `openai embedder ${spec.name} at ${this.endpoint}`;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const env = this.spec.apiKeyEnv;
    if (env !== undefined) {
      const key = process.env[env];
      if (!key) throw unavailable(`${this.label}: environment variable ${env} (apiKeyEnv) is not set`);
      h.authorization = `Bearer ${key}`;
    }
    return h;
  }

  /** One HTTP attempt; throws Retryable for failures worth another try. */
  private async attempt(texts: string[]): Promise<Float32Array[]> {
    const body: Record<string, unknown> = { model: this.spec.name, input: texts };
    if (this.spec.dimensions !== undefined) body.dimensions = this.spec.dimensions;
    const timeoutMs = this.spec.timeoutMs ?? DEFAULT_OPENAI_TIMEOUT_MS;
    let res: Response;
    try {
      res = await fetch(this.endpoint, { method: 'POST', headers: this.headers(), body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      if (err instanceof TableError) throw err;
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      throw new Retryable(`${this.label}: request failed: ${why}`, undefined);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new Retryable(`${this.label}: HTTP ${res.status}: ${await errorText(res)}`, retryAfterMs(res.headers.get('retry-after')));
    }
    if (!res.ok) {
      const hint = res.status === 401 || res.status === 403 ? ` (check the key in ${this.spec.apiKeyEnv ?? 'apiKeyEnv: none is configured'})` : '';
      throw unavailable(`${this.label}: HTTP ${res.status}${hint}: ${await errorText(res)}`);
    }
    let json: { data?: unknown };
    try {
      json = (await res.json()) as { data?: unknown };
    } catch (err) {
      throw unavailable(`${this.label}: response is not JSON: ${(err as Error).message}`);
    }
    return this.parse(json, texts.length);
  }

  private parse(json: { data?: unknown }, n: number): Float32Array[] {
    if (!Array.isArray(json.data) || json.data.length !== n) {
      throw unavailable(`${this.label}: expected ${n} embeddings in data[], got ${Array.isArray(json.data) ? json.data.length : typeof json.data}`);
    }
    const out = new Array<Float32Array | undefined>(n);
    for (const item of json.data as EmbeddingItem[]) {
      const i = item?.index;
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n || out[i] !== undefined) {
        throw unavailable(`${this.label}: bad or repeated index ${JSON.stringify(i)} in data[]`);
      }
      const e = item.embedding;
      if (!Array.isArray(e) || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw unavailable(`${this.label}: embedding ${i} is not an array of numbers`);
      }
      if (e.length !== this.dim) {
        throw unavailable(`${this.label}: returned ${e.length}-d vectors, column has dim ${this.dim}`);
      }
      out[i] = Float32Array.from(e as number[]);
    }
    return out as Float32Array[];
  }

  private async request(texts: string[]): Promise<Float32Array[]> {
    const retries = this.spec.retries ?? DEFAULT_OPENAI_RETRIES;
    for (let n = 0; ; n++) {
      try {
        return await this.attempt(texts);
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        if (n >= retries) throw unavailable(`${err.message} (gave up after ${n + 1} attempts)`);
        // Jitter keeps many clients from retrying in lockstep.
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n) * (0.5 + Math.random() / 2);
        await sleep(Math.min(BACKOFF_MAX_MS, err.retryAfterMs ?? backoff));
      }
    }
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const batch = this.spec.batch ?? DEFAULT_OPENAI_BATCH;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += batch) out.push(...(await this.request(texts.slice(i, i + batch))));
    return out;
  }
}
