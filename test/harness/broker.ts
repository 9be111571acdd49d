import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BROKER_ENTRY = path.join(REPO_ROOT, 'dist/api/cli/main.js');

const MAX_LOG_CHARS = 2_000_000;

export interface StartBrokerOptions {
  /** Use this data dir (never deleted by the harness). Default: a fresh temp dir, deleted on stop. */
  dataDir?: string;
  /** Extra CLI args appended after the defaults; a repeated flag overrides the default. */
  args?: string[];
  env?: Record<string, string>;
  /** Keep the temp data dir after stop (also set by FLOE_KEEP_DATA=1). */
  keepDataDir?: boolean;
  /** Script to run instead of dist/api/cli/main.js (the harness's own tests use a fake). */
  entry?: string;
  /** Readiness timeout (default 30 s). */
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL and failing (default 20 s). */
  stopTimeoutMs?: number;
}

export interface BrokerHandle {
  kafkaPort: number;
  httpPort: number;
  dataDir: string;
  /** '127.0.0.1:<kafkaPort>' */
  bootstrap: string;
  /** Pid of the current broker process (changes on restart). */
  pid: number;
  /** SIGTERM, await exit; removes the temp data dir unless kept. Rejects if shutdown hangs. */
  stop(): Promise<void>;
  /** SIGKILL, await exit; keeps the data dir so restart() can follow. */
  kill(): Promise<void>;
  /** Gracefully stops a running broker (if any), then starts again on the same dataDir and ports. */
  restart(): Promise<void>;
  /** Captured stdout+stderr of every run so far. */
  logs(): string;
}

// Brokers still running when the test process exits are killed, and owned temp dirs removed.
const live = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Picks `count` distinct free ports by binding 127.0.0.1:0 (all held open until every port is read). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return once(child, 'exit', { signal: AbortSignal.timeout(timeoutMs) }).then(
    () => true,
    () => false,
  );
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerHandle> {
  installExitHook();
  const entry = opts.entry ?? BROKER_ENTRY;
  if (!existsSync(entry)) {
    throw new Error(`broker entry ${entry} not found; run \`npm run build\` first`);
  }
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'floe-test-'));
  const keep = opts.keepDataDir === true || process.env.FLOE_KEEP_DATA === '1';
  if (ownsDir && !keep) ownedDirs.add(dataDir);
  const [kafkaPort, httpPort] = await freePorts(2) as [number, number];
  const args = [
    entry,
    'serve',
    '--data-dir', dataDir,
    '--kafka-port', String(kafkaPort),
    '--http-port', String(httpPort),
    '--kafka-host', '127.0.0.1',
    '--group-initial-rebalance-delay-ms', '0',
    ...(opts.args ?? []),
  ];
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 20_000;
  const env = { ...process.env, FLOE_LOG_LEVEL: 'warn', ...opts.env };

  let log = '';
  const append = (text: string) => {
    log += text;
    if (log.length > MAX_LOG_CHARS) log = log.slice(log.length - MAX_LOG_CHARS);
  };
  let child: ChildProcess | undefined;
  let dirRemoved = false;

  const launch = async (): Promise<void> => {
    if (dirRemoved) throw new Error(`data dir ${dataDir} was removed by stop(); call restart() without stop()`);
    append(`--- harness: starting ${args.slice(1).join(' ')}\n`);
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    proc.stdout?.on('data', (b: Buffer) => append(b.toString('utf8')));
    proc.stderr?.on('data', (b: Buffer) => append(b.toString('utf8')));
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      append(`--- harness: pid ${proc.pid} exited (code ${code}, signal ${signal})\n`);
    });
    proc.on('error', (e) => append(`--- harness: spawn error: ${e.message}\n`));

    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`broker exited before it was ready; logs:\n${log}`);
      }
      if ((await canConnect(kafkaPort)) && proc.exitCode === null && proc.signalCode === null) return;
      await sleep(100);
    }
    proc.kill('SIGKILL');
    await waitExit(proc, 5_000);
    throw new Error(`broker not ready on 127.0.0.1:${kafkaPort} within ${readyTimeoutMs} ms; logs:\n${log}`);
  };

  const terminate = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    if (await waitExit(proc, stopTimeoutMs)) return;
    proc.kill('SIGKILL');
    await waitExit(proc, 5_000);
    throw new Error(`broker did not exit within ${stopTimeoutMs} ms of SIGTERM (killed); logs:\n${log}`);
  };

  const removeDir = () => {
    if (ownsDir && !keep) {
      rmSync(dataDir, { recursive: true, force: true });
      ownedDirs.delete(dataDir);
      dirRemoved = true;
    }
  };

  try {
    await launch();
  } catch (e) {
    removeDir();
    throw e;
  }

  const handle: BrokerHandle = {
    kafkaPort,
    httpPort,
    dataDir,
    bootstrap: `127.0.0.1:${kafkaPort}`,
    get pid(): number {
      return child?.pid ?? -1;
    },
    async stop() {
      try {
        await terminate();
      } finally {
        removeDir();
      }
    },
    async kill() {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await waitExit(proc, 10_000);
    },
    async restart() {
      await terminate();
      await launch();
    },
    logs: () => log,
  };
  return handle;
}
