import { BROKER_CONFIG_SPECS, LISTEN_SHORTHANDS, type BrokerConfigKey } from './broker-config-schema.js';
import { camelToKebab, envVarName, lookupName } from './config-names.js';

/** One `floe serve` option derived from a config key. */
export interface BrokerFlagSpec {
  /** Setting name as loadBrokerConfig's `flags` accepts it (camelCase, commander's attribute name). */
  key: BrokerConfigKey | 'kafkaListen' | 'advertisedListen' | 'httpListen';
  /** e.g. '--data-dir' */
  flag: string;
  /** commander syntax, e.g. '--data-dir <path>' */
  syntax: string;
  env: string;
  description: string;
  /** Default shown in help, or undefined when derived/unset. */
  defaultValue: string | undefined;
}

/** 'dataDir' -> '--data-dir'. */
export function configKeyToFlag(key: string): string {
  return `--${camelToKebab(key)}`;
}

/**
 * '--group-initial-rebalance-delay-ms' (or 'group-initial-rebalance-delay-ms') ->
 * 'groupInitialRebalanceDelayMs'. Shorthands map to their own names ('--kafka-listen' ->
 * 'kafkaListen'). Undefined for flags that are not broker settings.
 */
export function flagToConfigKey(flag: string): BrokerFlagSpec['key'] | undefined {
  const target = lookupName(flag);
  if (target === undefined || !target.primary) return undefined;
  return target.kind === 'key' ? target.key : (target.name as BrokerFlagSpec['key']);
}

/** All broker flags, for registering on the `serve` command. */
export function brokerFlagSpecs(): BrokerFlagSpec[] {
  const specs: BrokerFlagSpec[] = [];
  for (const [key, spec] of Object.entries(BROKER_CONFIG_SPECS) as Array<[BrokerConfigKey, (typeof BROKER_CONFIG_SPECS)[BrokerConfigKey]]>) {
    const flag = configKeyToFlag(key);
    specs.push({
      key,
      flag,
      syntax: `${flag} ${spec.valueName}`,
      env: envVarName(key),
      description: spec.doc,
      defaultValue: spec.default === undefined ? undefined : String(spec.default),
    });
  }
  for (const l of LISTEN_SHORTHANDS) {
    const flag = configKeyToFlag(l.name);
    specs.push({
      key: l.name as BrokerFlagSpec['key'],
      flag,
      syntax: `${flag} <host:port>`,
      env: envVarName(l.name),
      description: `Shorthand for ${configKeyToFlag(l.hostKey)} and ${configKeyToFlag(l.portKey)}.`,
      defaultValue: undefined,
    });
  }
  return specs;
}
