// Helpers the built-ins share: reading an event and fields out of it by dotted path.
import type { FnRecord } from '../sdk.js';

/** The record's value as a JSON object when it is one, else { text: <value as text> }. */
export function eventOf(r: FnRecord): Record<string, unknown> {
  const text = r.text();
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON after all: treat as text
    }
  }
  return { text };
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Row key: a field of the event, the record key, or the record's position. */
export function keyOf(r: FnRecord, event: Record<string, unknown>, keyField: string | undefined): string {
  if (keyField !== undefined && keyField !== '' && keyField !== '$key' && keyField !== '$position') {
    const v = getPath(event, keyField);
    if (v === undefined || v === null || v === '') throw new Error(`event has no key field "${keyField}"`);
    return String(v);
  }
  if (keyField !== '$position') {
    const k = r.keyText();
    if (k !== null && k !== '') return k;
  }
  return `${r.topic}-${r.partition}-${r.offset}`;
}

export function intVar(vars: Readonly<Record<string, string>>, name: string, dflt: number, min = 1): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`var ${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function floatVar(vars: Readonly<Record<string, string>>, name: string, dflt: number): number {
  const raw = vars[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`var ${name} must be a number, got "${raw}"`);
  return n;
}
