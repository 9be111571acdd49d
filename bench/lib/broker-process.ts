// Starts `floe serve` from dist/ as a child process and reads its memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/dist\/$/, '/');
/** FLOE_BENCH_BROKER_ENTRY: run another build (A/B comparisons of the same session). */
export const BROKER_ENTRY = process.env.FLOE_BENCH_BROKER_ENTRY ?? `${REPO}dist/api/cli/main.js`;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const CLOCK_TICKS = 100;

export interface BrokerOptions {
  dataDir: string;
  /** Write a V8 CPU profile of the broker into this directory when it exits. */
  cpuProfDir?: string;
  logLevel?: string;
}

export interface Memory {
  rssMiB: number;
  hwmMiB: number;
}

export class BrokerProcess {
  private stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
  ) {
    child.stderr!.on('data', (d: Buffer) => this.keepStderr(d));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: BrokerOptions): Promise<BrokerProcess> {
    if (!existsSync(BROKER_ENTRY)) throw new Error(`${BROKER_ENTRY} is missing: run \`npm run build\` first`);
    const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
    // Diagnostics only (e.g. FLOE_BENCH_NODE_ARGS=--trace-gc with FLOE_BENCH_BROKER_STDOUT=file).
    if (process.env.FLOE_BENCH_NODE_ARGS) nodeArgs.push(...process.env.FLOE_BENCH_NODE_ARGS.split(' ').filter(Boolean));
    const args = [...nodeArgs, BROKER_ENTRY, 'serve', '--data-dir', opts.dataDir, '--kafka-port', '0', '--http-port', '0', '--log-level', opts.logLevel ?? 'warn'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tee = process.env.FLOE_BENCH_BROKER_STDOUT;
    if (tee) child.stdout!.on('data', (d: Buffer) => appendFileSync(tee, d));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const { host, port } = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error('broker did not report its listener in time')), START_TIMEOUT_MS);
      const fail = (e: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${e.message}\n--- broker stderr ---\n${err}`));
      };
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /kafka listener on (.+):(\d+),/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
        }
      });
      child.once('exit', (code, signal) => fail(new Error(`broker exited during start (code ${code}, signal ${signal})`)));
    });
    child.removeAllListeners('exit');
    const bp = new BrokerProcess(child, host, port);
    bp.stderrTail = err;
    return bp;
  }

  /** VmRSS and VmHWM (peak RSS) of the broker process. */
  memory(): Memory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      if (!m) throw new Error(`no ${field} in /proc/${this.pid}/status`);
      return Number(m[1]) / 1024;
    };
    return { rssMiB: kib('VmRSS'), hwmMiB: kib('VmHWM') };
  }

  /** User + system CPU seconds the broker has used (assumes the usual 100 Hz clock tick). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. Resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      this.child.kill('SIGTERM');
    });
  }

  private keepStderr(d: Buffer): void {
    this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
  }
}

/** Samples the broker's RSS every `everyMs` until stopped; returns the largest sample. */
export function sampleRss(broker: BrokerProcess, everyMs: number): { stop(): number } {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, broker.memory().rssMiB);
    } catch {
      // The broker may be exiting; the phase itself reports that.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
