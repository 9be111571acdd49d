import { isIP } from 'node:net';
import { parseInteger, show } from './value-parsers.js';

/** A bare IPv4 form for IPv4-mapped IPv6 addresses, so both spellings share one limit. */
export function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Kafka's `max.connections.per.ip.overrides`: "ip:limit,ip:limit". Kafka also accepts host
 * names and resolves them; Floe takes IP literals only (no DNS on the accept path).
 */
export function parseConnectionOverrides(raw: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'string') throw new Error(`${show(raw)} is not a list of ip:limit`);
  for (const part of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const i = part.lastIndexOf(':');
    if (i <= 0) throw new Error(`${show(part)} is not ip:limit`);
    const ip = part.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    if (isIP(ip) === 0) throw new Error(`${show(ip)} is not an IP address (host names are not resolved)`);
    out.set(normalizeIp(ip), parseInteger(part.slice(i + 1), 0, 2 ** 31 - 1));
  }
  return out;
}
