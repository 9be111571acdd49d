import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './broker.js';

export type ToolName = 'kcat' | 'python' | 'java';

const HOW_TO_GET: Record<ToolName, string> = {
  kcat: 'apt-get install -y kcat',
  python: 'pip install confluent-kafka',
  java: 'cd test/java && mvn -q -B package',
};

/**
 * Whether a client test may run. A missing tool fails hard in CI (nothing may skip there);
 * elsewhere it prints one line and the caller skips with describe.skipIf(!ok).
 */
export function requireTool(name: ToolName, check: () => boolean): boolean {
  if (check()) return true;
  const why = `${name} client tests skipped: ${name} not available (${HOW_TO_GET[name]})`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why.replace('skipped: ', '')}`);
  console.warn(why);
  return false;
}

function onPath(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  return r.status === 0;
}

export const PYTHON = process.env.PYTHON ?? 'python3';
export const PYTHON_SCRIPT = path.join(REPO_ROOT, 'test/python/floe_client_check.py');
export const JAVA_TARGET = path.join(REPO_ROOT, 'test/java/target');

export function kcatAvailable(): boolean {
  return onPath('kcat');
}

export function pythonClientAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Built client jars, one per kafka-clients version: test/java/target/kafka-<version>/floe-client-check.jar. */
export function javaClientJars(): { version: string; jar: string }[] {
  if (!existsSync(JAVA_TARGET)) return [];
  return readdirSync(JAVA_TARGET)
    .filter((d) => d.startsWith('kafka-'))
    .map((d) => ({ version: d.slice('kafka-'.length), jar: path.join(JAVA_TARGET, d, 'floe-client-check.jar') }))
    .filter((j) => existsSync(j.jar))
    .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
}

export function javaClientAvailable(): boolean {
  return onPath('java') && javaClientJars().length > 0;
}
