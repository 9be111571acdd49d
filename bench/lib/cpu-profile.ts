// Top self-time functions of a V8 .cpuprofile (as written by node --cpu-prof).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  function: string;
  location: string;
  selfMs: number;
  /** Share of all non-idle samples. */
  percent: number;
}

/** Newest main-thread profile (CPU.<date>.<time>.<pid>.<thread 0>.<seq>.cpuprofile) in dir. */
export function latestProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).sort();
  return files.length ? join(dir, files[files.length - 1]!) : null;
}

export function topSelfTime(file: string, limit = 20, repoRoot = ''): { totalMs: number; idleMs: number; top: SelfTime[] } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, SelfTime>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const url = cf.url.replace(/^file:\/\//, '').replace(repoRoot, '');
    const location = url ? `${url}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}\u0000${location}`;
    const e = byFn.get(key) ?? { function: cf.functionName || '(anonymous)', location, selfMs: 0, percent: 0 };
    e.selfMs += us / 1000;
    byFn.set(key, e);
  }
  const top = [...byFn.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, limit);
  for (const t of top) {
    t.percent = totalUs > 0 ? (100 * t.selfMs * 1000) / totalUs : 0;
    t.selfMs = Math.round(t.selfMs);
  }
  return { totalMs: Math.round(totalUs / 1000), idleMs: Math.round(idleUs / 1000), top };
}
