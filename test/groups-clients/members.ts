// Group members as child processes (Java KafkaConsumer, confluent-kafka, kafkajs), each printing
// JSON lines: started, assigned/revoked/lost, records, committed, commit-failed, closed.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../harness/broker.js';
import { javaClientJars, PYTHON, PYTHON_SCRIPT } from '../harness/tools.js';

export type MemberKind = 'java' | 'python' | 'kafkajs';

export interface MemberEvent {
  event: string;
  partitions?: number[];
  owned?: number[];
  generation?: number;
  records?: Array<[number, number]>;
  offsets?: Record<string, number>;
  error?: string;
}

const KAFKAJS_MEMBER = path.join(REPO_ROOT, 'test/groups-clients/kafkajs-member.ts');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 45_000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${describe ? `: ${describe()}` : ''}`);
}

export class Member {
  readonly events: MemberEvent[] = [];
  /** Every record this process reported as processed, in order. */
  readonly processed: Array<[number, number]> = [];
  /** Index in `events` of the records event each processed record came in. */
  readonly processedAt: number[] = [];
  /** Highest committed next-offset per partition. */
  readonly committed = new Map<number, number>();
  /** Partitions this member owns now, per its own reports (eager: last assignment). */
  owned: number[] = [];
  killed = false;
  commitFailed = false;
  exitCode: number | null = null;
  stderr = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly kind: MemberKind,
    readonly proc: ChildProcess,
  ) {
    live.add(proc);
    let buf = '';
    proc.stdout!.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line.startsWith('{')) this.onEvent(JSON.parse(line) as MemberEvent);
      }
    });
    proc.stderr!.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-20_000);
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code) => {
        live.delete(proc);
        this.exitCode = code;
        resolve();
      }),
    );
  }

  /** name doubles as the client id, so DescribeGroups members can be matched to processes. */
  static spawn(kind: MemberKind, bootstrap: string, topic: string, group: string, name: string, options: Record<string, string> = {}): Member {
    const opts = Object.entries({ client: name, ...options }).map(([k, v]) => `${k}=${v}`);
    let cmd: string;
    let args: string[];
    switch (kind) {
      case 'java':
        cmd = 'java';
        args = ['-jar', javaClientJars()[0]!.jar, 'member', bootstrap, topic, group, ...opts];
        break;
      case 'python':
        cmd = PYTHON;
        args = [PYTHON_SCRIPT, 'member', bootstrap, topic, group, ...opts];
        break;
      case 'kafkajs':
        cmd = process.execPath;
        args = ['--import', 'tsx', KAFKAJS_MEMBER, bootstrap, topic, group, ...opts];
        break;
    }
    const proc = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Member(name, kind, proc);
  }

  private onEvent(e: MemberEvent): void {
    this.events.push(e);
    switch (e.event) {
      case 'assigned':
        // Eager assignors hand over the whole assignment; cooperative ones report what they own.
        this.owned = [...(e.owned && e.owned.length > 0 ? e.owned : e.partitions ?? [])].sort((a, b) => a - b);
        break;
      case 'revoked':
      case 'lost':
        this.owned = this.owned.filter((p) => !(e.partitions ?? []).includes(p));
        break;
      case 'records':
        for (const r of e.records ?? []) {
          this.processed.push(r);
          this.processedAt.push(this.events.length - 1);
        }
        break;
      case 'committed':
        for (const [p, o] of Object.entries(e.offsets ?? {})) this.committed.set(Number(p), Math.max(this.committed.get(Number(p)) ?? 0, o));
        break;
      case 'commit-failed':
        this.commitFailed = true;
        break;
    }
  }

  get running(): boolean {
    return this.exitCode === null && this.proc.signalCode === null && !this.killed;
  }

  /**
   * Whether the i-th processed record was covered by a commit of this member while it still
   * owned the partition (before the partition was revoked, lost or assigned elsewhere).
   */
  committedInTime(i: number): boolean {
    const [p, o] = this.processed[i]!;
    for (let k = this.processedAt[i]! + 1; k < this.events.length; k++) {
      const e = this.events[k]!;
      if (e.event === 'committed' && (e.offsets?.[String(p)] ?? -1) > o) return true;
      if ((e.event === 'revoked' || e.event === 'lost') && e.partitions?.includes(p)) return false;
      if (e.event === 'assigned' && !(e.owned && e.owned.length > 0 ? e.owned : e.partitions ?? []).includes(p)) return false;
    }
    return false;
  }

  has(event: string): boolean {
    return this.events.some((e) => e.event === event);
  }

  /** Crash: SIGKILL, no LeaveGroup. */
  async kill(): Promise<void> {
    this.killed = true;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Clean shutdown: SIGTERM, the member closes its consumer (LeaveGroup for dynamic members). */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not stop within ${timeoutMs} ms; stderr:\n${this.stderr}`);
    }
  }

  describe(): string {
    return `${this.name}(${this.kind}) owned=[${this.owned.join(',')}] processed=${this.processed.length} exit=${this.exitCode} stderr=${this.stderr.slice(-500)}`;
  }
}
