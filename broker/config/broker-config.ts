import { readFileSync } from 'node:fs';
import { extname, resolve as resolvePath } from 'node:path';
import { isWildcardHost, resolveAdvertisedHost, type InterfaceTable } from './advertised-host.js';
import {
  BROKER_CONFIG_KEYS,
  BROKER_CONFIG_SPECS,
  type BrokerConfigKey,
  type BrokerConfigValues,
} from './broker-config-schema.js';
import { ConfigError } from './config-error.js';
import { envVarName, lookupName, PRIMARY_RANK, primaryNames, type NameTarget } from './config-names.js';
import { parseProperties } from './properties-file.js';
import { parseInteger, show } from './value-parsers.js';

export type { BrokerConfigKey, BrokerConfigValues, LogLevel } from './broker-config-schema.js';

/** Where a setting's value came from. 'derived' is computed from other keys (advertised host/port). */
export type ConfigOrigin = 'default' | 'derived' | 'file' | 'env' | 'flag';

export interface BrokerConfig extends BrokerConfigValues {
  /** Origin per key; absent (e.g. hand-built configs in tests) means all defaults. */
  readonly sources?: Readonly<Partial<Record<BrokerConfigKey, ConfigOrigin>>>;
}

export interface LoadBrokerConfigOptions {
  /** CLI options, camelCase (as commander produces) or kebab-case, with or without '--'. */
  flags?: Record<string, unknown>;
  /** Defaults to process.env. Only FLOE_<UPPER_SNAKE_KEY> variables are read. */
  env?: NodeJS.ProcessEnv;
  /** JSON (.json) or Java .properties file (any other extension). Defaults to $FLOE_CONFIG. */
  configFile?: string;
  /** Base for a relative dataDir; defaults to process.cwd(). */
  cwd?: string;
  /** For tests: replaces os.networkInterfaces() when picking an advertised address. */
  interfaces?: InterfaceTable;
  /** Non-fatal findings, e.g. unknown keys in a config file. */
  onWarning?: (message: string) => void;
}

interface Setting {
  value: unknown;
  rank: number;
  origin: string;
}

type Layer = Map<BrokerConfigKey, Setting>;

/** Loads and validates the broker config: defaults < config file < FLOE_* env < CLI flags. */
export function loadBrokerConfig(opts: LoadBrokerConfigOptions = {}): BrokerConfig {
  const env = opts.env ?? process.env;
  const warn = opts.onWarning ?? (() => undefined);
  const layers: Array<[ConfigOrigin, Layer]> = [];
  const file = opts.configFile ?? nonEmpty(env.FLOE_CONFIG);
  if (file !== undefined) layers.push(['file', fileLayer(file, warn)]);
  layers.push(['env', envLayer(env)]);
  layers.push(['flag', flagLayer(opts.flags ?? {})]);

  const values: Partial<Record<BrokerConfigKey, unknown>> = {};
  const sources: Partial<Record<BrokerConfigKey, ConfigOrigin>> = {};
  for (const key of BROKER_CONFIG_KEYS) {
    values[key] = BROKER_CONFIG_SPECS[key].default;
    sources[key] = 'default';
  }
  for (const [origin, layer] of layers) {
    for (const [key, setting] of layer) {
      values[key] = setting.value;
      sources[key] = origin;
    }
  }
  const v = values as BrokerConfigValues;
  v.dataDir = resolvePath(opts.cwd ?? process.cwd(), v.dataDir);

  if (sources.advertisedHost === 'default') sources.advertisedHost = 'derived';
  else if (isWildcardHost(v.advertisedHost)) {
    throw new ConfigError('advertisedHost', `invalid advertisedHost: ${show(v.advertisedHost)} is a wildcard address clients cannot connect to`);
  }
  v.advertisedHost = resolveAdvertisedHost(v.kafkaHost, sources.advertisedHost === 'derived' ? undefined : v.advertisedHost, opts.interfaces);
  if (v.groupMinSessionTimeoutMs > v.groupMaxSessionTimeoutMs) {
    throw new ConfigError(
      'groupMinSessionTimeoutMs',
      `invalid groupMinSessionTimeoutMs: ${v.groupMinSessionTimeoutMs} is above groupMaxSessionTimeoutMs ${v.groupMaxSessionTimeoutMs}`,
    );
  }
  if (sources.advertisedPort === 'default') {
    v.advertisedPort = v.kafkaPort;
    sources.advertisedPort = 'derived';
  }
  return { ...v, sources };
}

/** Defaults plus the given values, validated like any other source (for tests and tools). */
export function defaultBrokerConfig(overrides: Partial<Record<BrokerConfigKey, unknown>> = {}): BrokerConfig {
  return loadBrokerConfig({ flags: overrides, env: {} });
}

/** Host and port to advertise once the listener is bound (advertisedPort 0 = bound port). */
export function advertisedAddress(config: BrokerConfig, boundPort: number): { host: string; port: number } {
  return { host: config.advertisedHost, port: config.advertisedPort === 0 ? boundPort : config.advertisedPort };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

function fileLayer(path: string, warn: (m: string) => void): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('configFile', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let entries: Array<[string, unknown]>;
  if (extname(path).toLowerCase() === '.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError('configFile', `config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError('configFile', `config file ${path} must hold a JSON object of settings`);
    }
    entries = Object.entries(parsed);
  } else {
    entries = [...parseProperties(text)];
  }
  const layer: Layer = new Map();
  for (const [name, raw] of entries) {
    const target = lookupName(name);
    if (target === undefined) {
      warn(`config file ${path}: ignoring unknown setting '${name}'`);
      continue;
    }
    if (raw === null) continue;
    apply(layer, target, name, raw, `${name} in ${path}`, warn);
  }
  return layer;
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = new Map();
  for (const name of primaryNames()) {
    const varName = envVarName(name);
    const raw = nonEmpty(env[varName]);
    if (raw === undefined) continue;
    apply(layer, lookupName(name)!, varName, raw, `env ${varName}`, () => undefined);
  }
  return layer;
}

function flagLayer(flags: Record<string, unknown>): Layer {
  const layer: Layer = new Map();
  for (const [name, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const target = lookupName(name);
    // Other CLI options (--config, --verbose...) share the object; only primary names count.
    if (target === undefined || !target.primary) continue;
    apply(layer, target, name, raw, `flag --${name.replace(/^-+/, '').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`, () => undefined);
  }
  return layer;
}

function apply(layer: Layer, target: NameTarget, name: string, raw: unknown, origin: string, warn: (m: string) => void): void {
  if (target.kind === 'listen') {
    const { host, port } = parseListen(target.hostKey, raw, origin, warn);
    set(layer, target.hostKey, parseFor(target.hostKey, host, origin), 0, origin);
    set(layer, target.portKey, parseFor(target.portKey, port, origin), 0, origin);
    return;
  }
  const key = target.key;
  let value: unknown;
  if (target.scale !== undefined) {
    let n: number;
    try {
      n = parseInteger(raw, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      throw new ConfigError(key, `invalid ${key} (${origin}): ${(err as Error).message}`);
    }
    value = parseFor(key, n < 0 ? -1 : Math.min(n * target.scale, Number.MAX_SAFE_INTEGER), origin);
  } else if (key === 'dataDir' && normalizeKafkaDirs(name) && typeof raw === 'string' && raw.includes(',')) {
    throw new ConfigError(key, `invalid ${key} (${origin}): Floe uses a single data directory, got ${show(raw)}`);
  } else {
    value = parseFor(key, raw, origin);
  }
  set(layer, key, value, target.rank, origin);
}

function normalizeKafkaDirs(name: string): boolean {
  return name === 'log.dirs' || name === 'log.dir';
}

function set(layer: Layer, key: BrokerConfigKey, value: unknown, rank: number, origin: string): void {
  const prev = layer.get(key);
  if (prev !== undefined) {
    if (prev.rank > rank) return;
    if (prev.rank === rank && rank === PRIMARY_RANK && prev.value !== value) {
      throw new ConfigError(key, `conflicting values for ${key}: ${show(prev.value)} (${prev.origin}) and ${show(value)} (${origin})`);
    }
  }
  layer.set(key, { value, rank, origin });
}

function parseFor(key: BrokerConfigKey, raw: unknown, origin: string): unknown {
  try {
    return BROKER_CONFIG_SPECS[key].parse(raw);
  } catch (err) {
    throw new ConfigError(key, `invalid ${key} (${origin}): ${(err as Error).message}`);
  }
}

/** 'host:port', '[::1]:9092' or Kafka's 'PLAINTEXT://host:port[,OTHER://...]' (first entry). */
function parseListen(key: BrokerConfigKey, raw: unknown, origin: string, warn: (m: string) => void): { host: string; port: string } {
  if (typeof raw !== 'string') throw new ConfigError(key, `invalid ${key} (${origin}): ${show(raw)} is not host:port`);
  const entries = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length > 1) warn(`${origin}: only the first listener (${entries[0]}) is used`);
  const first = (entries[0] ?? '').replace(/^[A-Za-z0-9_]+:\/\//, '');
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(first) ?? /^([^:]*):(\d+)$/.exec(first);
  if (m === null) throw new ConfigError(key, `invalid ${key} (${origin}): ${show(raw)} is not host:port`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!, port: m[2]! };
}
