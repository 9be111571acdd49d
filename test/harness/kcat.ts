import { runProcess, type RunResult } from './process.js';

export interface KcatOptions {
  /** Bytes fed to stdin (producer mode). */
  input?: string | Buffer;
  timeoutMs?: number;
  allowFailure?: boolean;
}

/** Runs kcat with the given args; rejects on non-zero exit (unless allowed) or timeout. */
export function kcat(args: string[], opts: KcatOptions = {}): Promise<RunResult> {
  return runProcess('kcat', args, {
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 30_000,
    allowFailure: opts.allowFailure,
  });
}
