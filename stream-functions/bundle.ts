// Bundles a function module into one ESM file with esbuild (client side, before upload).
// `floe/functions` resolves to this package's SDK, so a template works without an npm install.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function sdkPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, 'sdk.js');
  return existsSync(js) ? js : join(here, 'sdk.ts');
}

interface EsbuildModule {
  build(opts: Record<string, unknown>): Promise<{ outputFiles?: Array<{ contents: Uint8Array }>; warnings: Array<{ text: string }> }>;
}

export async function bundleFunction(entry: string): Promise<{ code: Buffer; warnings: string[] }> {
  let esbuild: EsbuildModule;
  try {
    esbuild = (await import('esbuild')) as EsbuildModule;
  } catch (err) {
    throw new Error(`bundling needs the esbuild package: ${(err as Error).message}`);
  }
  const sdk = sdkPath();
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: { js: "import { createRequire as __floeCreateRequire } from 'node:module'; const require = __floeCreateRequire(import.meta.url);" },
    plugins: [
      {
        name: 'floe-sdk',
        setup(build: { onResolve(o: { filter: RegExp }, cb: () => { path: string }): void }) {
          build.onResolve({ filter: /^floe\/functions$/ }, () => ({ path: sdk }));
        },
      },
    ],
  });
  const out = result.outputFiles?.[0];
  if (!out) throw new Error('esbuild produced no output');
  return { code: Buffer.from(out.contents), warnings: result.warnings.map((w) => w.text) };
}
