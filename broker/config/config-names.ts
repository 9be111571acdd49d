import {
  BROKER_CONFIG_KEYS,
  BROKER_CONFIG_SPECS,
  LISTEN_SHORTHANDS,
  SCALED_ALIASES,
  type BrokerConfigKey,
} from './broker-config-schema.js';

/** What a config name sets: one key (maybe unit-scaled) or a host:port pair. */
export type NameTarget =
  | { kind: 'key'; key: BrokerConfigKey; rank: number; scale?: number; primary: boolean }
  | { kind: 'listen'; name: string; hostKey: BrokerConfigKey; portKey: BrokerConfigKey; primary: boolean };

/** Rank of exact key names and plain aliases; scaled aliases rank lower, listen shorthands lowest. */
export const PRIMARY_RANK = 3;

/**
 * Folds the spellings of one setting to a single form: 'dataDir', 'data-dir', '--data-dir',
 * 'data.dir', 'data_dir' and 'DATA_DIR' all become 'data.dir'.
 */
export function normalizeName(name: string): string {
  let s = name.trim().replace(/^-+/, '');
  if (/[a-z]/.test(s)) s = s.replace(/([a-z0-9])([A-Z])/g, '$1.$2');
  return s.toLowerCase().replace(/[-_]/g, '.');
}

export function camelToKebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

export function camelToUpperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function buildTable(): Map<string, NameTarget> {
  const table = new Map<string, NameTarget>();
  const add = (name: string, target: NameTarget): void => {
    const n = normalizeName(name);
    if (table.has(n)) throw new Error(`config name clash: ${name}`);
    table.set(n, target);
  };
  for (const key of BROKER_CONFIG_KEYS) {
    add(key, { kind: 'key', key, rank: PRIMARY_RANK, primary: true });
    for (const alias of BROKER_CONFIG_SPECS[key].aliases ?? []) {
      add(alias, { kind: 'key', key, rank: PRIMARY_RANK, primary: false });
    }
  }
  for (const a of SCALED_ALIASES) add(a.name, { kind: 'key', key: a.key, rank: a.rank, scale: a.scale, primary: false });
  for (const l of LISTEN_SHORTHANDS) {
    add(l.name, { kind: 'listen', name: l.name, hostKey: l.hostKey, portKey: l.portKey, primary: true });
    for (const alias of l.aliases) add(alias, { kind: 'listen', name: l.name, hostKey: l.hostKey, portKey: l.portKey, primary: false });
  }
  return table;
}

const TABLE = buildTable();

/** Resolves any accepted spelling (key, kebab flag, dotted or Kafka name) to what it sets. */
export function lookupName(name: string): NameTarget | undefined {
  return TABLE.get(normalizeName(name));
}

/** Names settable from the CLI and the environment: every key plus the listen shorthands. */
export function primaryNames(): string[] {
  return [...BROKER_CONFIG_KEYS, ...LISTEN_SHORTHANDS.map((l) => l.name)];
}

/** 'dataDir' -> 'FLOE_DATA_DIR'. */
export function envVarName(name: string): string {
  return `FLOE_${camelToUpperSnake(name)}`;
}
