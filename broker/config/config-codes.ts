/** Wire codes for DescribeConfigs ConfigSource and ConfigType (Kafka's numbering). */

export type ConfigSourceName =
  | 'UNKNOWN'
  | 'DYNAMIC_TOPIC_CONFIG'
  | 'DYNAMIC_BROKER_CONFIG'
  | 'DYNAMIC_DEFAULT_BROKER_CONFIG'
  | 'STATIC_BROKER_CONFIG'
  | 'DEFAULT_CONFIG'
  | 'DYNAMIC_BROKER_LOGGER_CONFIG'
  | 'CLIENT_METRICS_CONFIG'
  | 'GROUP_CONFIG';

const SOURCE_IDS: Record<ConfigSourceName, number> = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
};

export function configSourceId(source: ConfigSourceName): number {
  return SOURCE_IDS[source];
}

export type ConfigTypeName = 'UNKNOWN' | 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';

const TYPE_IDS: Record<ConfigTypeName, number> = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
};

export function configTypeId(type: ConfigTypeName): number {
  return TYPE_IDS[type];
}

/** DescribeConfigs resource types. */
export const CONFIG_RESOURCE_TYPE = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: ConfigSourceName;
}

/** One DescribeConfigs entry, before wire encoding. */
export interface ConfigEntry {
  name: string;
  /** null for sensitive values, as Kafka does. */
  value: string | null;
  source: ConfigSourceName;
  isSensitive: boolean;
  readOnly: boolean;
  type: ConfigTypeName;
  documentation: string;
  /** Most specific first, the entry's own source included (DescribeConfigs v1+ includeSynonyms). */
  synonyms: ConfigSynonym[];
}
