/** Parsers for config values from strings (files, env, flags) or JSON scalars. They throw a
 *  plain Error whose message describes the problem; callers add the key and source. */

export function parseInteger(raw: unknown, min: number, max: number): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^[-+]?\d+$/.test(raw.trim())) n = Number(raw.trim());
  else throw new Error(`${show(raw)} is not an integer`);
  if (!Number.isSafeInteger(n)) throw new Error(`${show(raw)} is not an integer in the safe range`);
  if (n < min || n > max) throw new Error(`${n} is out of range [${min}, ${max}]`);
  return n;
}

export function parseDouble(raw: unknown, min: number, max: number): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) n = Number(raw.trim());
  else throw new Error(`${show(raw)} is not a number`);
  if (!Number.isFinite(n)) throw new Error(`${show(raw)} is not a finite number`);
  if (n < min || n > max) throw new Error(`${n} is out of range [${min}, ${max}]`);
  return n;
}

export function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (s === 'true' || s === 'on') return true;
    if (s === 'false' || s === 'off') return false;
  }
  throw new Error(`${show(raw)} is not a boolean (true/false or on/off)`);
}

export function parseNonEmptyString(raw: unknown): string {
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(`${show(raw)} is not a string`);
  const s = String(raw).trim();
  if (s === '') throw new Error('value is empty');
  return s;
}

export function show(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (raw === null || typeof raw !== 'object') return String(raw);
  return JSON.stringify(raw);
}
