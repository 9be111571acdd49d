// Starts a throwaway PostgreSQL server from Debian's binaries for cluster tests. Nothing is
// mocked: the server runs in a temp dir on a free port with trust auth on 127.0.0.1 only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePorts } from './broker.js';

export interface PostgresHandle {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** A fresh database on this server, for test isolation. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed Debian PostgreSQL bin dir, or null. */
export function findPostgresBin(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(path.join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(PG_ROOT, versions[0]!, 'bin') : null;
}

/**
 * Whether cluster tests may run. Under CI=true a missing PostgreSQL throws (a failure, never a
 * silent skip); elsewhere tests skip with the reason.
 */
export function postgresAvailable(): boolean {
  const bin = findPostgresBin();
  if (bin !== null) return true;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL server binaries not found under ${PG_ROOT}; install with apt-get install -y postgresql`);
  return false;
}

function uidOf(user: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** As root, initdb and postgres refuse to run: use the `postgres` system user (created if missing). */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  let ids = uidOf('postgres');
  if (ids === null) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    ids = uidOf('postgres');
  }
  if (ids === null) throw new Error('cannot create the postgres system user');
  return ids;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startPostgres(): Promise<PostgresHandle> {
  const bin = findPostgresBin();
  if (bin === null) throw new Error(`PostgreSQL server binaries not found under ${PG_ROOT}; install with apt-get install -y postgresql`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-pg-'));
  const dataDir = path.join(dir, 'data');
  const ids = runAs();
  if (ids !== null) chownSync(dir, ids.uid, ids.gid);
  const opts = { uid: ids?.uid, gid: ids?.gid, stdio: 'pipe' as const, cwd: dir };
  try {
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], opts);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`initdb failed: ${e.stderr?.toString() ?? e.message}`);
  }
  writeFileSync(path.join(dataDir, 'pg_hba.conf'), 'host all all 127.0.0.1/32 trust\nlocal all all trust\n');
  if (ids !== null) chownSync(path.join(dataDir, 'pg_hba.conf'), ids.uid, ids.gid);
  const [port] = (await freePorts(1)) as [number];
  // fsync stays on: the control store's durability is part of what the cluster tests exercise.
  const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'];
  let log = '';
  const proc: ChildProcess = spawn(path.join(bin, 'postgres'), args, { uid: ids?.uid, gid: ids?.gid, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  proc.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const killOnExit = () => proc.kill('SIGKILL');
  process.on('exit', killOnExit);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres exited early:\n${log}`);
    }
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      break;
    } catch {
      await c.end().catch(() => {});
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres not ready on ${port}:\n${log}`);
      }
      await sleep(100);
    }
  }

  return {
    port,
    url,
    async createDatabase(name: string): Promise<string> {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async stop(): Promise<void> {
      process.off('exit', killOnExit);
      if (proc.exitCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGINT'); // fast shutdown
        await Promise.race([exited, sleep(15_000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
