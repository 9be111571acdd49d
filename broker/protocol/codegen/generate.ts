// Generates broker/protocol/generated/*.ts from Apache Kafka's message definitions.
// Usage: npm run gen [-- <spec dir> <out dir>]. Defaults: ../shared/kafka-protocol/message and
// broker/protocol/generated. The output is committed so a clone builds without ../shared.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface FieldSpec {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string;
  flexibleVersions?: string;
  fields?: FieldSpec[];
  about?: string;
}
interface MessageSpec {
  apiKey?: number;
  /** Which listeners accept the request; APIs only controllers or ZooKeeper brokers take are skipped. */
  listeners?: string[];
  type: 'request' | 'response' | 'header' | 'data' | string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: Array<{ name: string; versions: string; fields: FieldSpec[] }>;
}

type Range = [number, number] | null;
const INF = 1 << 30;

function parseRange(spec: string | undefined): Range {
  if (spec === undefined || spec === 'none') return null;
  const s = spec.trim();
  if (s.endsWith('+')) return [Number(s.slice(0, -1)), INF];
  const dash = s.indexOf('-');
  if (dash > 0) return [Number(s.slice(0, dash)), Number(s.slice(dash + 1))];
  return [Number(s), Number(s)];
}
const inRange = (r: Range, v: number) => r !== null && v >= r[0] && v <= r[1];

/** Strips // comments outside strings (the specs are JSON with comments). */
export function stripComments(src: string): string {
  let out = '';
  let inStr = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (inStr) {
      out += c;
      if (c === '\\') out += src[++i] ?? '';
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

const PRIMS = new Set(['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'uuid', 'bytes', 'records']);
const camel = (s: string) => s[0]!.toLowerCase() + s.slice(1);
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

function tsPrimType(t: string): string {
  switch (t) {
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      return 'number';
  }
}

class Gen {
  private out: string[] = [];
  private structs = new Map<string, { fields: FieldSpec[]; tsName: string }>();
  private emitted = new Set<string>();
  readonly versions: Range;
  readonly flex: Range;

  constructor(readonly spec: MessageSpec) {
    this.versions = parseRange(spec.validVersions);
    this.flex = parseRange(spec.flexibleVersions);
    for (const cs of spec.commonStructs ?? []) this.structs.set(cs.name, { fields: cs.fields, tsName: spec.name + cs.name });
  }

  private allVersions(): number[] {
    const r = this.versions!;
    const vs: number[] = [];
    for (let v = r[0]; v <= r[1]; v++) vs.push(v);
    return vs;
  }

  /** A boolean TS expression over `v` true exactly for versions in `set`. */
  private cond(set: number[]): string {
    const all = this.allVersions();
    if (set.length === all.length) return 'true';
    const parts: string[] = [];
    let i = 0;
    while (i < set.length) {
      let j = i;
      while (j + 1 < set.length && set[j + 1] === set[j]! + 1) j++;
      const lo = set[i]!;
      const hi = set[j]!;
      const loC = lo <= all[0]! ? '' : `v >= ${lo}`;
      const hiC = hi >= all[all.length - 1]! ? '' : `v <= ${hi}`;
      parts.push([loC, hiC].filter(Boolean).join(' && ') || 'true');
      i = j + 1;
    }
    return parts.length === 1 ? parts[0]! : parts.map((p) => `(${p})`).join(' || ');
  }

  private fieldVersions(f: FieldSpec, tagged: boolean): number[] {
    const fr = parseRange(f.versions);
    const tr = parseRange(f.taggedVersions);
    return this.allVersions().filter((v) => inRange(fr, v) && (tagged ? inRange(tr, v) : !(f.tag !== undefined && inRange(tr, v))));
  }

  private isFlex(f: FieldSpec, v: number): boolean {
    if (f.flexibleVersions !== undefined) return inRange(parseRange(f.flexibleVersions), v);
    return inRange(this.flex, v);
  }

  /** Splits versions by (flexible, nullable) so each group gets one straight-line codec call. */
  private variants(f: FieldSpec, vs: number[]): Array<{ flex: boolean; nullable: boolean; versions: number[] }> {
    const nr = parseRange(f.nullableVersions);
    const groups = new Map<string, { flex: boolean; nullable: boolean; versions: number[] }>();
    // Fixed-width fields and single structs encode the same in every version.
    const plain = !f.type.startsWith('[]') && !['string', 'bytes', 'records'].includes(f.type);
    for (const v of vs) {
      const flex = plain ? false : this.isFlex(f, v);
      const nullable = plain ? false : inRange(nr, v);
      const k = `${flex}${nullable}`;
      if (!groups.has(k)) groups.set(k, { flex, nullable, versions: [] });
      groups.get(k)!.versions.push(v);
    }
    return [...groups.values()];
  }

  private structName(f: FieldSpec): string | null {
    const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
    if (PRIMS.has(base)) return null;
    if (f.fields) {
      const tsName = this.spec.name + base;
      if (!this.structs.has(base)) this.structs.set(base, { fields: f.fields, tsName });
    }
    const s = this.structs.get(base);
    if (!s) throw new Error(`${this.spec.name}: unknown struct ${base}`);
    return s.tsName;
  }

  private tsType(f: FieldSpec): string {
    const nullable = f.nullableVersions !== undefined && parseRange(f.nullableVersions) !== null;
    let t: string;
    if (f.type.startsWith('[]')) {
      const base = f.type.slice(2);
      const elem = PRIMS.has(base) ? tsPrimType(base) : this.structName(f)!;
      t = `${elem}[]`;
    } else if (PRIMS.has(f.type)) t = tsPrimType(f.type);
    else t = this.structName(f)!;
    return nullable ? `${t} | null` : t;
  }

  private defaultExpr(f: FieldSpec): string {
    const d = f.default;
    const nullable = f.nullableVersions !== undefined && parseRange(f.nullableVersions) !== null;
    if (d === 'null') return 'null';
    if (f.type.startsWith('[]')) return '[]';
    switch (f.type) {
      case 'bool':
        return d === 'true' ? 'true' : 'false';
      case 'string':
        return JSON.stringify(d ?? '');
      case 'uuid':
        return `'AAAAAAAAAAAAAAAAAAAAAA'`;
      case 'bytes':
        return 'EMPTY';
      case 'records':
        return nullable ? 'null' : 'EMPTY';
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'int64':
      case 'float64':
        return d === undefined || d === '' ? '0' : String(Number(d));
      default:
        return `default${this.structName(f)}()`;
    }
  }

  private primRead(t: string, flex: boolean, nullable: boolean, r: string): string {
    switch (t) {
      case 'bool':
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'int64':
      case 'float64':
      case 'uuid':
        return `${r}.${t}()`;
      case 'string':
        return `${r}.${flex ? (nullable ? 'compactNullableString' : 'compactString') : nullable ? 'nullableString' : 'string'}()`;
      case 'bytes':
      case 'records':
        return `${r}.${flex ? (nullable ? 'compactNullableBytes' : 'compactBytes') : nullable ? 'nullableBytes' : 'bytes'}()`;
    }
    throw new Error(t);
  }

  private primWrite(t: string, flex: boolean, nullable: boolean, w: string, val: string): string {
    switch (t) {
      case 'bool':
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'int64':
      case 'float64':
      case 'uuid':
        return `${w}.${t}(${val})`;
      case 'string':
        return `${w}.${flex ? (nullable ? 'compactNullableString' : 'compactString') : nullable ? 'nullableString' : 'string'}(${val})`;
      case 'bytes':
      case 'records':
        return `${w}.${flex ? (nullable ? 'compactNullableBytes' : 'compactBytes') : nullable ? 'nullableBytes' : 'bytes'}(${val})`;
    }
    throw new Error(t);
  }

  private readExpr(f: FieldSpec, flex: boolean, nullable: boolean, r: string): string {
    if (f.type.startsWith('[]')) {
      const base = f.type.slice(2);
      const elem = PRIMS.has(base) ? `(rr: Reader) => ${this.primRead(base, flex, false, 'rr')}` : `(rr: Reader) => read${this.structName(f)}(rr, v)`;
      return `readArray(${r}, ${flex}, ${nullable}, ${elem})`;
    }
    if (PRIMS.has(f.type)) return this.primRead(f.type, flex, nullable, r);
    return `read${this.structName(f)}(${r}, v)`;
  }

  private writeStmt(f: FieldSpec, flex: boolean, nullable: boolean, w: string, val: string): string {
    if (f.type.startsWith('[]')) {
      const base = f.type.slice(2);
      const elem = PRIMS.has(base)
        ? `(ww: Writer, e: any) => { ${this.primWrite(base, flex, false, 'ww', 'e')}; }`
        : `(ww: Writer, e: any) => write${this.structName(f)}(ww, v, e)`;
      return `writeArray(${w}, ${flex}, ${nullable}, ${val}, ${elem});`;
    }
    if (PRIMS.has(f.type)) return `${this.primWrite(f.type, flex, nullable, w, val)};`;
    return `write${this.structName(f)}(${w}, v, ${val} ?? {});`;
  }

  /** Emits interface + read/write/default for one struct (recursing into nested structs first). */
  emitStruct(tsName: string, fields: FieldSpec[], isTop: boolean): void {
    if (this.emitted.has(tsName)) return;
    this.emitted.add(tsName);
    for (const f of fields) {
      const s = this.structName(f);
      if (s) {
        const base = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
        this.emitStruct(s, this.structs.get(base)!.fields, false);
      }
    }
    const o = this.out;
    o.push(`export interface ${tsName} {`);
    for (const f of fields) {
      if (f.about) o.push(`  /** ${f.about.replace(/\*\//g, '* /').replace(/\s+/g, ' ')} */`);
      o.push(`  ${camel(f.name)}: ${this.tsType(f)};`);
    }
    o.push('}', '');

    o.push(`export function default${tsName}(): ${tsName} {`);
    o.push(`  return { ${fields.map((f) => `${camel(f.name)}: ${this.defaultExpr(f)}`).join(', ')} };`);
    o.push('}', '');

    const flexVersions = this.allVersions().filter((v) => inRange(this.flex, v));
    const flexCond = flexVersions.length ? this.cond(flexVersions) : 'false';
    const tagged = fields.filter((f) => f.tag !== undefined);

    // read
    o.push(`export function read${tsName}(r: Reader, v: number): ${tsName} {`);
    o.push(`  const o = default${tsName}();`);
    for (const f of fields) {
      const vs = this.fieldVersions(f, false);
      if (!vs.length) continue;
      for (const g of this.variants(f, vs)) {
        const c = this.cond(g.versions);
        const stmt = `o.${camel(f.name)} = ${this.readExpr(f, g.flex, g.nullable, 'r')};`;
        o.push(c === 'true' ? `  ${stmt}` : `  if (${c}) ${stmt}`);
      }
    }
    if (flexVersions.length) {
      if (tagged.length) {
        o.push(`  if (${flexCond}) r.taggedFields((tag, t) => {`);
        o.push('    switch (tag) {');
        for (const f of tagged) {
          const vs = this.fieldVersions(f, true);
          if (!vs.length) continue;
          o.push(`      case ${f.tag}:`);
          const gs = this.variants(f, vs);
          for (const g of gs) {
            o.push(`        if (${this.cond(g.versions)}) { o.${camel(f.name)} = ${this.readExpr(f, true, g.nullable, 't')}; return true; }`);
          }
          o.push('        return false;');
        }
        o.push('    }');
        o.push('    return false;');
        o.push('  });');
      } else {
        o.push(`  if (${flexCond}) r.taggedFields();`);
      }
    }
    o.push('  return o;', '}', '');

    // write
    o.push(`export function write${tsName}(w: Writer, v: number, m: Input<${tsName}>): void {`);
    for (const f of fields) {
      const vs = this.fieldVersions(f, false);
      if (!vs.length) continue;
      const val = `(m.${camel(f.name)} === undefined ? ${this.defaultExpr(f)} : m.${camel(f.name)}) as any`;
      for (const g of this.variants(f, vs)) {
        const c = this.cond(g.versions);
        const stmt = this.writeStmt(f, g.flex, g.nullable, 'w', val);
        o.push(c === 'true' ? `  ${stmt}` : `  if (${c}) ${stmt}`);
      }
    }
    if (flexVersions.length) {
      if (tagged.length) {
        o.push(`  if (${flexCond}) {`);
        o.push('    const tags: Array<[number, Buffer]> = [];');
        for (const f of [...tagged].sort((a, b) => a.tag! - b.tag!)) {
          const vs = this.fieldVersions(f, true);
          if (!vs.length) continue;
          const name = camel(f.name);
          const isStruct = !f.type.startsWith('[]') && !PRIMS.has(f.type);
          const present = f.type.startsWith('[]')
            ? `m.${name} != null && (m.${name} as unknown[]).length > 0`
            : isStruct
              ? `m.${name} != null`
              : `m.${name} !== undefined && m.${name} !== ${this.defaultExpr(f)}`;
          for (const g of this.variants(f, vs)) {
            o.push(`    if ((${this.cond(g.versions)}) && ${present}) { const t = new Writer(); ${this.writeStmt(f, true, g.nullable, 't', `m.${name} as any`)} tags.push([${f.tag}, t.toBuffer()]); }`);
          }
        }
        o.push('    writeTags(w, tags);');
        o.push('  }');
      } else {
        o.push(`  if (${flexCond}) w.uvarint(0);`);
      }
    }
    o.push('}', '');
  }

  generate(): string {
    this.out = [];
    this.emitStruct(this.spec.name, this.spec.fields, true);
    return this.out.join('\n');
  }
}

const HEADER = `// GENERATED by broker/protocol/codegen/generate.ts from Apache Kafka's message definitions.
// Do not edit: run \`npm run gen\`.
/* eslint-disable */
`;

function runtimeImports(): string {
  return `import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { readArray, writeArray, writeTags, EMPTY, type Input } from '../primitives/codec-helpers.js';
`;
}

export function generateAll(specDir: string, outDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const byApi = new Map<number, { req?: MessageSpec; res?: MessageSpec }>();
  const specs: MessageSpec[] = [];
  for (const file of readdirSync(specDir).filter((f) => f.endsWith('.json')).sort()) {
    const spec = JSON.parse(stripComments(readFileSync(join(specDir, file), 'utf8'))) as MessageSpec;
    specs.push(spec);
    if (spec.apiKey !== undefined && (spec.type === 'request' || spec.type === 'response')) {
      const e = byApi.get(spec.apiKey) ?? {};
      if (spec.type === 'request') e.req = spec;
      else e.res = spec;
      byApi.set(spec.apiKey, e);
    }
  }

  const apis: string[] = [];
  for (const [key, { req, res }] of [...byApi].sort((a, b) => a[0] - b[0])) {
    if (!req || !res) continue;
    // Controller-only and ZooKeeper-era inter-broker APIs are never sent to a Floe broker.
    if (req.listeners && !req.listeners.includes('broker')) continue;
    const base = req.name.replace(/Request$/, '');
    const file = `${kebab(base)}.ts`;
    const body = HEADER + runtimeImports() + '\n' + new Gen(req).generate() + '\n' + new Gen(res).generate();
    files.set(file, body);
    const vr = parseRange(req.validVersions)!;
    const fr = parseRange(req.flexibleVersions);
    apis.push(`  ${key}: { key: ${key}, name: '${base}', module: '${kebab(base)}', minVersion: ${vr[0]}, maxVersion: ${vr[1]}, flexibleFrom: ${fr ? fr[0] : -1} },`);
  }
  for (const spec of specs) {
    // Of the data structs, clients only put the consumer protocol ones on the wire to brokers.
    if (spec.type !== 'header' && !(spec.type === 'data' && spec.name.startsWith('ConsumerProtocol'))) continue;
    const file = `${kebab(spec.name)}.ts`;
    files.set(file, HEADER + runtimeImports() + '\n' + new Gen(spec).generate());
  }
  files.set(
    'api-keys.ts',
    HEADER +
      `
export interface ApiInfo { key: number; name: string; module: string; minVersion: number; maxVersion: number; flexibleFrom: number }
/** Every API in the definitions, with the versions the definitions know (not what Floe serves). */
export const API_INFO: Record<number, ApiInfo> = {
${apis.join('\n')}
};
`,
  );
  // Error codes
  const tsv = readFileSync(join(specDir, '..', 'error-codes.tsv'), 'utf8').trim().split('\n').slice(1);
  const codes = tsv.map((line) => line.split('\t')).map(([code, name, desc]) => ({ code: Number(code), name: name!, desc: desc ?? '' }));
  // Kafka's -1 is not in the table but every client knows it.
  if (!codes.some((c) => c.code === -1)) codes.unshift({ code: -1, name: 'UNKNOWN_SERVER_ERROR', desc: 'The server experienced an unexpected error when processing the request.' });
  files.set(
    'error-codes.ts',
    HEADER +
      `
export const ErrorCode = {
${codes.map((c) => `  ${c.name}: ${c.code},`).join('\n')}
} as const;
export type ErrorName = keyof typeof ErrorCode;

/** Kafka's description of each error code. */
export const ERROR_MESSAGES: Record<number, string> = {
${codes.map((c) => `  [${c.code}]: ${JSON.stringify(c.desc)},`).join('\n')}
};

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
export function errorName(code: number): string {
  return NAMES[code] ?? \`UNKNOWN_ERROR_\${code}\`;
}
`,
  );
  void outDir;
  return files;
}

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const specDir = resolve(process.argv[2] ?? join(here, '../../../../shared/kafka-protocol/message'));
  const outDir = resolve(process.argv[3] ?? join(here, '../generated'));
  const files = generateAll(specDir, outDir);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, body] of files) writeFileSync(join(outDir, name), body);
  console.log(`generated ${files.size} files into ${outDir}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
