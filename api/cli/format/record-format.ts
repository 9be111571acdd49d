// rpk-style record formats. A format is literal text with %-fields:
//   %t topic  %p partition  %o offset  %d timestamp (ms)  %k key  %v value  %h headers  %% percent
// Escapes \n \t \r \\ \xNN work in literals. Output (consume) uses every field; input (produce)
// reads %k %v %p %d, each ended by the literal that follows it.
import { UsageError } from '../../../broker/client/errors.js';
import type { ConsumedRecord } from '../../../broker/client/consumer.js';

export type Token = { field: string } | { literal: Buffer };

const OUTPUT_FIELDS = new Set(['t', 'p', 'o', 'd', 'k', 'v', 'h']);
const INPUT_FIELDS = new Set(['k', 'v', 'p', 'd']);

function unescapeChar(c: string): string {
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case '0':
      return '\0';
    default:
      return c;
  }
}

export function parseFormat(fmt: string, allowed: Set<string> = OUTPUT_FIELDS): Token[] {
  const tokens: Token[] = [];
  let lit = '';
  const flush = () => {
    if (lit.length > 0) tokens.push({ literal: Buffer.from(lit, 'latin1') });
    lit = '';
  };
  // Literals are kept as bytes: UTF-8 text is re-encoded once below, \xNN stays one byte.
  const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c === '\\' && i + 1 < fmt.length) {
      const n = fmt[i + 1]!;
      if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(fmt.slice(i + 2, i + 4))) {
        lit += String.fromCharCode(parseInt(fmt.slice(i + 2, i + 4), 16));
        i += 3;
      } else {
        lit += bytes(unescapeChar(n));
        i += 1;
      }
    } else if (c === '%') {
      const f = fmt[i + 1];
      if (f === undefined) throw new UsageError(`format "${fmt}" ends with a lone %`);
      i += 1;
      if (f === '%') {
        lit += '%';
        continue;
      }
      if (!allowed.has(f)) throw new UsageError(`format "${fmt}": unknown or unsupported field %${f} (allowed: ${[...allowed].map((x) => `%${x}`).join(' ')})`);
      flush();
      tokens.push({ field: f });
    } else {
      lit += bytes(c);
    }
  }
  flush();
  return tokens;
}

function headersText(r: ConsumedRecord): string {
  return r.headers.map((h) => `${h.key}=${h.value === null ? '' : h.value.toString('utf8')}`).join(',');
}

/** Renders one consumed record with a parsed output format. */
export function renderRecord(tokens: Token[], r: ConsumedRecord): Buffer {
  const parts: Buffer[] = [];
  for (const t of tokens) {
    if ('literal' in t) {
      parts.push(t.literal);
      continue;
    }
    switch (t.field) {
      case 't':
        parts.push(Buffer.from(r.topic));
        break;
      case 'p':
        parts.push(Buffer.from(String(r.partition)));
        break;
      case 'o':
        parts.push(Buffer.from(String(r.offset)));
        break;
      case 'd':
        parts.push(Buffer.from(String(r.timestamp)));
        break;
      case 'k':
        if (r.key) parts.push(r.key);
        break;
      case 'v':
        if (r.value) parts.push(r.value);
        break;
      case 'h':
        parts.push(Buffer.from(headersText(r)));
        break;
    }
  }
  return Buffer.concat(parts);
}

function utf8OrBase64(b: Buffer | null): { text: string | null; base64: boolean } {
  if (b === null) return { text: null, base64: false };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(b), base64: false };
  } catch {
    return { text: b.toString('base64'), base64: true };
  }
}

/** One JSON line per record. Keys/values are UTF-8 text, or base64 with a `*Encoding` marker. */
export function recordJson(r: ConsumedRecord): string {
  const key = utf8OrBase64(r.key);
  const value = utf8OrBase64(r.value);
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: key.text,
    ...(key.base64 ? { keyEncoding: 'base64' } : {}),
    value: value.text,
    ...(value.base64 ? { valueEncoding: 'base64' } : {}),
    headers: r.headers.map((h) => {
      const v = utf8OrBase64(h.value);
      return { key: h.key, value: v.text, ...(v.base64 ? { valueEncoding: 'base64' } : {}) };
    }),
  });
}

export interface ParsedInput {
  key?: Buffer;
  value?: Buffer;
  partition?: number;
  timestamp?: number;
}

/**
 * Splits an input byte stream into records by a format such as "%v\n" or "%k\t%v\n". Each field
 * runs up to the literal after it; a field at the very end runs to end of input. At end of
 * input a missing final delimiter is forgiven (a last line without newline).
 */
export class InputParser {
  readonly tokens: Token[];
  private buf: Buffer = Buffer.alloc(0);

  constructor(fmt: string) {
    this.tokens = parseFormat(fmt, INPUT_FIELDS);
    for (let i = 0; i + 1 < this.tokens.length; i++) {
      if ('field' in this.tokens[i]! && 'field' in this.tokens[i + 1]!) throw new UsageError(`format "${fmt}": fields need a delimiter between them`);
    }
    if (!this.tokens.some((t) => 'field' in t)) throw new UsageError(`format "${fmt}" has no field to read`);
  }

  push(chunk: Buffer): ParsedInput[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return this.drain(false);
  }

  end(): ParsedInput[] {
    return this.drain(true);
  }

  private drain(eof: boolean): ParsedInput[] {
    const out: ParsedInput[] = [];
    let pos = 0;
    for (;;) {
      if (pos >= this.buf.length) break;
      const r = this.parseOne(pos, eof);
      if (r === null) break;
      out.push(r.rec);
      pos = r.next;
    }
    this.buf = this.buf.subarray(pos);
    if (eof && this.buf.length > 0) throw new UsageError(`input does not match the format: ${JSON.stringify(this.buf.subarray(0, 40).toString('utf8'))}`);
    return out;
  }

  private parseOne(start: number, eof: boolean): { rec: ParsedInput; next: number } | null {
    const rec: ParsedInput = {};
    let pos = start;
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if ('literal' in t) {
        const have = this.buf.subarray(pos, pos + t.literal.length);
        if (have.length < t.literal.length) {
          // A final delimiter may be missing at end of input.
          if (eof && i === this.tokens.length - 1 && t.literal.subarray(0, have.length).equals(have)) return { rec, next: this.buf.length };
          if (eof) throw new UsageError(`input does not match the format near byte ${pos}`);
          return null;
        }
        if (!have.equals(t.literal)) throw new UsageError(`input does not match the format near byte ${pos}: expected ${JSON.stringify(t.literal.toString('utf8'))}`);
        pos += t.literal.length;
        continue;
      }
      const nextTok = this.tokens[i + 1];
      let end: number;
      if (nextTok === undefined) {
        if (!eof) return null;
        end = this.buf.length;
      } else {
        const lit = (nextTok as { literal: Buffer }).literal;
        end = this.buf.indexOf(lit, pos);
        if (end < 0) {
          if (!eof) return null;
          // Only the very last delimiter may be missing.
          if (i + 2 !== this.tokens.length) throw new UsageError(`input does not match the format near byte ${pos}: missing ${JSON.stringify(lit.toString('utf8'))}`);
          end = this.buf.length;
        }
      }
      this.setField(rec, t.field, this.buf.subarray(pos, end));
      pos = end;
    }
    return { rec, next: pos };
  }

  private setField(rec: ParsedInput, field: string, bytes: Buffer): void {
    // Copy: the input buffer is reused and records may be batched for a while.
    const copy = Buffer.from(bytes);
    switch (field) {
      case 'k':
        rec.key = copy;
        break;
      case 'v':
        rec.value = copy;
        break;
      case 'p':
      case 'd': {
        const text = copy.toString('utf8').trim();
        if (!/^\d+$/.test(text)) throw new UsageError(`%${field} must be a non-negative integer, got ${JSON.stringify(text)}`);
        if (field === 'p') rec.partition = Number(text);
        else rec.timestamp = Number(text);
        break;
      }
    }
  }
}
