import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateAll } from '../../broker/protocol/codegen/generate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const specDir = join(root, '../shared/kafka-protocol/message');
const haveSpecs = existsSync(specDir);
if (!haveSpecs && process.env.CI === 'true') throw new Error(`CI needs the protocol specs at ${specDir}`);
if (!haveSpecs) console.log(`skipping codegen staleness test: ${specDir} not found`);

describe.skipIf(!haveSpecs)('generated protocol code', () => {
  it('matches what the generator produces from the specs (run `npm run gen` if this fails)', () => {
    const outDir = join(root, 'broker/protocol/generated');
    const files = generateAll(specDir, outDir);
    const committed = readdirSync(outDir).sort();
    expect(committed).toEqual([...files.keys()].sort());
    for (const [name, body] of files) {
      expect(readFileSync(join(outDir, name), 'utf8'), `${name} is stale`).toBe(body);
    }
  });
});
