// The folder map as a test: dependencies run broker <- vector <- stream-functions <- api, the
// protocol layer does no I/O, and the log knows nothing of sockets, handlers or clients. A new
// import that breaks one of these fails `npm test` with the offending file and specifier.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/broker.js';

const LAYERS = ['broker', 'vector', 'stream-functions', 'api'] as const;
type Layer = (typeof LAYERS)[number];

interface Import {
  file: string;
  spec: string;
  /** Repo-relative path of the target for relative specifiers; the bare specifier otherwise. */
  target: string;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

// Static imports and re-exports, `import type`, dynamic import() and import('x').Type.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

export function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2]!;
    const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec;
    out.push({ file, spec, target });
  }
  return out;
}

const all: Import[] = LAYERS.flatMap((layer) => sources(layer).flatMap((f) => importsOf(f, readFileSync(path.join(REPO_ROOT, f), 'utf8'))));

function layerOf(p: string): Layer | null {
  const top = p.split(path.sep)[0];
  return (LAYERS as readonly string[]).includes(top!) ? (top as Layer) : null;
}

const show = (list: Import[]): string[] => list.map((i) => `${i.file} imports ${i.spec}`);

describe('folder layout', () => {
  it('parses the imports it checks', () => {
    // Guards the checker itself: a regex that matched nothing would pass every rule below.
    const sample = importsOf('api/x.ts', "import a from '../broker/a.js';\nimport type { B } from './b.js';\nexport * from '../vector/c.js';\nconst d = await import('../stream-functions/d.js');\nlet e: import('../broker/e.js').E;");
    expect(sample.map((i) => i.target)).toEqual(['broker/a.js', 'api/b.js', 'vector/c.js', 'stream-functions/d.js', 'broker/e.js']);
    expect(all.length).toBeGreaterThan(500);
    expect(all.some((i) => i.file.startsWith('api/') && i.target.startsWith('broker/'))).toBe(true);
  });

  it('depends one way: broker <- vector <- stream-functions <- api', () => {
    const backwards = all.filter((i) => {
      const from = layerOf(i.file);
      const to = layerOf(i.target);
      return from !== null && to !== null && LAYERS.indexOf(to) > LAYERS.indexOf(from);
    });
    expect(show(backwards)).toEqual([]);
  });

  it('keeps the protocol layer free of I/O', () => {
    const io = /^(node:)?(fs|fs\/promises|net|tls|dgram|child_process|worker_threads|http|https)$/;
    const bad = all.filter((i) => i.file.startsWith('broker/protocol/') && !i.file.startsWith('broker/protocol/codegen/') && (io.test(i.spec) || /^broker\/(server|log|cluster|handlers|client)\//.test(i.target)));
    expect(show(bad)).toEqual([]);
  });

  it('keeps the log free of sockets, handlers and clients', () => {
    const bad = all.filter((i) => i.file.startsWith('broker/log/') && (/^(node:)?(net|tls|http|https)$/.test(i.spec) || /^broker\/(server|handlers|client|cluster|groups)\//.test(i.target)));
    expect(show(bad)).toEqual([]);
  });

  it('keeps the Kafka client off the broker internals', () => {
    // broker/client speaks the wire; it may use the protocol codecs and the group types.
    const bad = all.filter((i) => i.file.startsWith('broker/client/') && /^broker\/(server|handlers|log|core|cluster)\//.test(i.target));
    expect(show(bad)).toEqual([]);
  });
});
