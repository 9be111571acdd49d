import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

export function isWildcardHost(host: string): boolean {
  return WILDCARDS.has(host);
}

/** First non-internal IPv4 address, in the order the OS lists interfaces. */
export function firstExternalIPv4(table: InterfaceTable = networkInterfaces()): string | undefined {
  for (const infos of Object.values(table)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4' && !info.internal) return info.address;
    }
  }
  return undefined;
}

/**
 * The host clients should connect to. 'localhost' becomes 127.0.0.1 because some clients
 * (librdkafka) resolve it to ::1 while the listener is on IPv4; a wildcard bind advertises the
 * first external IPv4 address, falling back to loopback.
 */
export function resolveAdvertisedHost(
  kafkaHost: string,
  explicit: string | undefined,
  table?: InterfaceTable,
): string {
  const host = explicit ?? kafkaHost;
  if (host.toLowerCase() === 'localhost') return '127.0.0.1';
  if (isWildcardHost(host)) return firstExternalIPv4(table) ?? '127.0.0.1';
  return host;
}
