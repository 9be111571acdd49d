// A tiny in-process Kafka server for unit-testing the CLI client: it decodes request headers with
// Floe's framing, hands each request to a per-API handler and frames whatever it returns.
import net from 'node:net';
import { readHeader, responseWriter, type RequestHeader } from '../../broker/protocol/frame.js';
import type { Reader } from '../../broker/protocol/primitives/reader.js';
import type { Writer } from '../../broker/protocol/primitives/writer.js';
import { FrameDecoder } from '../../broker/protocol/frame-decoder.js';

export interface FakeRequest {
  header: RequestHeader;
  body: Reader;
}

/** Writes the response body, or returns 'none' to send nothing (e.g. to force a timeout). */
export type FakeHandler = (req: FakeRequest, w: Writer) => void | 'none' | Promise<void | 'none'>;

export interface FakeBroker {
  port: number;
  /** Every request header received, in order. */
  received: RequestHeader[];
  handlers: Map<number, FakeHandler>;
  close(): Promise<void>;
}

export async function startFakeBroker(handlers: Record<number, FakeHandler>): Promise<FakeBroker> {
  const received: RequestHeader[] = [];
  const map = new Map<number, FakeHandler>(Object.entries(handlers).map(([k, v]) => [Number(k), v]));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new FrameDecoder(1 << 30);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const { header, body } = readHeader(frame);
        received.push(header);
        const h = map.get(header.apiKey);
        if (!h) {
          socket.destroy();
          return;
        }
        const w = responseWriter(header.apiKey, header.apiVersion, header.correlationId);
        void Promise.resolve(h({ header, body }, w)).then((r) => {
          if (r === 'none' || socket.destroyed) return;
          const payload = w.toBuffer();
          const size = Buffer.alloc(4);
          size.writeInt32BE(payload.length, 0);
          socket.write(Buffer.concat([size, payload]));
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  return {
    port: addr.port,
    received,
    handlers: map,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
