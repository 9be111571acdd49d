// Raw TCP helpers for attack tests: frames written byte by byte, no client library in the way.
import { once } from 'node:events';
import net from 'node:net';

/** ApiVersions v0 request frame (size prefix included). */
export function apiVersionsFrame(correlationId = 1, clientId = 'raw'): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.alloc(10 + id.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

export function openSocket(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, ...(localAddress !== undefined ? { localAddress } : {}) });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed (by either side), or 'open' after timeoutMs. */
export function closedWithin(s: net.Socket, timeoutMs: number): Promise<'closed' | 'open'> {
  if (s.destroyed) return Promise.resolve('closed');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

/** Sends ApiVersions and reports whether an answer came back or the broker closed the socket. */
export function probe(s: net.Socket, timeoutMs = 10_000): Promise<'served' | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    let got = 0;
    const done = (r: 'served' | 'closed' | 'timeout') => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      resolve(r);
    };
    const onData = (b: Buffer) => {
      got += b.length;
      if (got >= 4) done('served');
    };
    const onClose = () => done('closed');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('data', onData);
    s.once('close', onClose);
    if (s.destroyed) done('closed');
    else s.write(apiVersionsFrame());
  });
}

/** Writes `buf`, waiting for 'drain' when the socket pushes back; false if it stays blocked for stallMs. */
export function writeOrStall(s: net.Socket, buf: Buffer, stallMs: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(false);
  if (s.write(buf)) return Promise.resolve(true);
  return once(s, 'drain', { signal: AbortSignal.timeout(stallMs) }).then(
    () => true,
    () => false,
  );
}

/** Resident set size of a process in bytes (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
