// Machine facts recorded next to benchmark figures.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { resolve } from 'node:path';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** Filesystem type and device holding the data directory. */
  dataFs: string;
}

function fsOf(path: string): string {
  try {
    const abs = resolve(path);
    let best = { mount: '', text: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mount, type] = line.split(' ');
      if (!dev || !mount || !type) continue;
      const under = abs === mount || abs.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (under && mount.length >= best.mount.length) best = { mount, text: `${type} (${dev} on ${mount})` };
    }
    return best.text;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(dataParent: string): MachineInfo {
  const c = cpus();
  return {
    cores: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    dataFs: fsOf(dataParent),
  };
}

/** Busy and total jiffies of all CPUs, for measuring how loaded the machine was over a phase. */
export function cpuJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Tracks broker CPU and whole-machine CPU between start and stop. */
export function cpuMeter(brokerCpuSeconds: () => number): { stop(): { brokerCores: number; machineBusyPercent: number } } {
  const t0 = performance.now();
  const b0 = brokerCpuSeconds();
  const m0 = cpuJiffies();
  return {
    stop() {
      const secs = (performance.now() - t0) / 1000;
      const m1 = cpuJiffies();
      const dt = m1.total - m0.total;
      return {
        brokerCores: (brokerCpuSeconds() - b0) / secs,
        machineBusyPercent: dt > 0 ? (100 * (m1.busy - m0.busy)) / dt : Number.NaN,
      };
    },
  };
}

/** Share of all cores busy over the next `ms` milliseconds. */
export async function machineBusyPercent(ms: number): Promise<number> {
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies();
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : Number.NaN;
}
