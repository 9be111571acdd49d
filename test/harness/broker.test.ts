import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, startBroker, type BrokerHandle } from './broker.js';
import { runProcess } from './process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(here, 'fixtures/fake-broker.mjs');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An orphan nobody reaps stays a zombie; it is dead for our purposes.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('test harness: startBroker', () => {
  const handles: BrokerHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.kill();
  });

  it('freePorts returns distinct bindable ports', async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });

  it('starts, passes the fixed CLI contract, stops gracefully and removes its temp dir', async () => {
    const b = await startBroker({ entry, args: ['--num-partitions', '3'] });
    handles.push(b);
    expect(b.bootstrap).toBe(`127.0.0.1:${b.kafkaPort}`);
    expect(b.httpPort).not.toBe(b.kafkaPort);
    expect(await connects(b.kafkaPort)).toBe(true);
    const starts = readFileSync(path.join(b.dataDir, 'starts.txt'), 'utf8');
    expect(starts).toContain(
      `serve --data-dir ${b.dataDir} --kafka-port ${b.kafkaPort} --http-port ${b.httpPort} --kafka-host 127.0.0.1`,
    );
    expect(starts).toContain('--num-partitions 3');
    expect(b.logs()).toContain('fake stderr level=warn');
    const pid = b.pid;
    await b.stop();
    expect(alive(pid)).toBe(false);
    expect(b.logs()).toContain('fake: graceful shutdown');
    expect(existsSync(b.dataDir)).toBe(false);
  });

  it('kill keeps the data dir and restart reuses dir and ports', async () => {
    const b = await startBroker({ entry, env: { FLOE_LOG_LEVEL: 'debug' } });
    handles.push(b);
    expect(b.logs()).toContain('fake stderr level=debug');
    const firstPid = b.pid;
    await b.kill();
    expect(alive(firstPid)).toBe(false);
    expect(existsSync(b.dataDir)).toBe(true);
    await b.restart();
    expect(b.pid).not.toBe(firstPid);
    expect(await connects(b.kafkaPort)).toBe(true);
    // restart of a live broker goes through SIGTERM first
    const secondPid = b.pid;
    await b.restart();
    expect(alive(secondPid)).toBe(false);
    const starts = readFileSync(path.join(b.dataDir, 'starts.txt'), 'utf8').trim().split('\n');
    expect(starts).toHaveLength(3);
    for (const line of starts) expect(line).toContain(`--kafka-port ${b.kafkaPort} --http-port ${b.httpPort}`);
    await b.stop();
    expect(existsSync(b.dataDir)).toBe(false);
    await expect(b.restart()).rejects.toThrow(/removed by stop/);
  });

  it('never deletes a caller-supplied data dir', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-harness-own-'));
    try {
      const b = await startBroker({ entry, dataDir: dir });
      await b.stop();
      expect(existsSync(path.join(dir, 'starts.txt'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails fast with the logs when the broker exits before it is ready', async () => {
    await expect(startBroker({ entry, env: { FAKE_MODE: 'exit-early' } })).rejects.toThrow(
      /exited before it was ready[\s\S]*refusing to start/,
    );
  });

  it('times out with the logs when the port never opens', async () => {
    await expect(startBroker({ entry, env: { FAKE_MODE: 'never-ready' }, readyTimeoutMs: 1_500 })).rejects.toThrow(
      /not ready on 127\.0\.0\.1:\d+ within 1500 ms[\s\S]*fake broker pid/,
    );
  });

  it('stop() rejects and kills a broker that ignores SIGTERM', async () => {
    const b = await startBroker({ entry, env: { FAKE_MODE: 'ignore-term' }, stopTimeoutMs: 1_000 });
    const pid = b.pid;
    await expect(b.stop()).rejects.toThrow(/did not exit within 1000 ms/);
    expect(alive(pid)).toBe(false);
  });

  it('kills brokers left running when the test process exits', async () => {
    const r = await runProcess(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/exit-hook-child.ts')], {
      timeoutMs: 30_000,
    });
    const { pid, dataDir } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { pid: number; dataDir: string };
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });
});
