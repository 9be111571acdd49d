// What a deployment is: the registry's record of one function and its versions.

export const BUILTINS = ['embed', 'materialize', 'reason'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

/** earliest | latest | an offset | a timestamp (ms), for partitions with no committed offset. */
export type FromOffset = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'timestamp'; ms: number };

export interface Limits {
  /** Per-record budget; a batch gets recordTimeoutMs * size (capped by batchTimeoutMaxMs). */
  recordTimeoutMs: number;
  batchTimeoutMaxMs: number;
  /** Module load + init(). */
  startupTimeoutMs: number;
  /** V8 old-generation limit per worker. */
  memoryMb: number;
  maxAttempts: number;
  backoffMs: number;
  maxBatchRecords: number;
}

export const DEFAULT_LIMITS: Limits = {
  recordTimeoutMs: 5_000,
  batchTimeoutMaxMs: 60_000,
  startupTimeoutMs: 30_000,
  memoryMb: 256,
  maxAttempts: 3,
  backoffMs: 200,
  maxBatchRecords: 500,
};

export interface VersionSpec {
  version: number;
  /** Artifact file under <data>/functions/<name>/, or a built-in's name. */
  artifact: { kind: 'bundle'; file: string; sha256: string } | { kind: 'builtin'; name: BuiltinName };
  inputs: string[];
  outputs: string[];
  table: string | null;
  vars: Record<string, string>;
  fromOffset: FromOffset;
  parallelism: number;
  limits: Limits;
  createdAt: number;
}

export interface FunctionRecord {
  name: string;
  /** The version that runs. */
  active: number;
  paused: boolean;
  versions: VersionSpec[];
}

export class FunctionError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;

export function validateFunctionName(name: string): void {
  if (!NAME.test(name)) throw new FunctionError(400, 'INVALID_NAME', `function name "${name}" must be 1-100 of [a-zA-Z0-9_-], starting with a letter or digit`);
}

export function parseFromOffset(raw: string): FromOffset {
  const s = raw.trim();
  if (s === 'earliest' || s === 'beginning') return { kind: 'earliest' };
  if (s === 'latest' || s === 'end') return { kind: 'latest' };
  if (/^@\d+$/.test(s)) return { kind: 'timestamp', ms: Number(s.slice(1)) };
  if (/^\d+$/.test(s)) return { kind: 'offset', offset: Number(s) };
  throw new FunctionError(400, 'INVALID_OFFSET', `--from-offset must be earliest, latest, an offset or @<ms>, got "${raw}"`);
}

export function formatFromOffset(f: FromOffset): string {
  switch (f.kind) {
    case 'earliest':
    case 'latest':
      return f.kind;
    case 'offset':
      return String(f.offset);
    case 'timestamp':
      return `@${f.ms}`;
  }
}

/** Group id of a function's consumer group; stable across versions so a redeploy resumes. */
export function groupIdOf(name: string): string {
  return `floe-fn-${name}`;
}

export function dlqTopicOf(name: string): string {
  return `${name}.dlq`;
}

/** `name@v3` or `name@3` or `name`. */
export function parseVersionRef(ref: string): { name: string; version: number | null } {
  const m = /^([^@]+)(?:@v?(\d+))?$/.exec(ref);
  if (!m) throw new FunctionError(400, 'INVALID_NAME', `expected name or name@vN, got "${ref}"`);
  return { name: m[1]!, version: m[2] === undefined ? null : Number(m[2]) };
}
