import type { Reader } from '../protocol/primitives/reader.js';
import type { Writer } from '../protocol/primitives/writer.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { Broker } from '../core/broker.js';
import type { Logger } from 'pino';

export interface ConnectionRef {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

export interface RequestContext {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  conn: ConnectionRef;
  broker: Broker;
  log: Logger;
}

/** One Kafka API: its served version range, codec and logic. One file per API in this folder. */
export interface ApiHandler<Req, Res> {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  read(r: Reader, v: number): Req;
  write(w: Writer, v: number, res: Input<Res>): void;
  /** Returns the response, or null when no response is sent (Produce with acks=0). */
  handle(req: Req, ctx: RequestContext): Promise<Input<Res> | null> | Input<Res> | null;
}

export function defineHandler<Req, Res>(h: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  return h;
}
