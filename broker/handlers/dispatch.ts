// Turns one request frame into one response frame: header, version check, decode, handle, encode.
import type { Logger } from 'pino';
import { ProtocolError } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { peekHeader, readHeader, responseWriter } from '../protocol/frame.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { writeApiVersionsResponse } from '../protocol/generated/api-versions.js';
import type { Broker } from '../core/broker.js';
import type { ApiHandler, ConnectionRef, RequestContext } from './types.js';
import { HANDLERS, supportedApis } from './registry.js';

const API_VERSIONS = 18;

export class RequestDispatcher {
  private readonly byKey = new Map<number, ApiHandler<any, any>>();

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {
    for (const h of HANDLERS) this.byKey.set(h.apiKey, h);
  }

  /** Returns the response frame body, or null for no response. Throws only to close the connection. */
  async dispatch(frame: Buffer, conn: ConnectionRef): Promise<Buffer[] | null> {
    const peek = peekHeader(frame);
    if (!peek) throw new ProtocolError(`frame of ${frame.length} bytes is too short for a request header`);
    const { apiKey, apiVersion, correlationId } = peek;
    const handler = this.byKey.get(apiKey);
    if (!handler || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      return this.unsupported(apiKey, apiVersion, correlationId, conn);
    }
    const { header, body } = readHeader(frame);
    let req: unknown;
    try {
      req = handler.read(body, apiVersion);
    } catch (err) {
      // Kafka closes the connection on a request it cannot parse; so do we, with a reason.
      throw new ProtocolError(`cannot parse api ${apiKey} v${apiVersion} from ${conn.remoteAddress}:${conn.remotePort}: ${(err as Error).message}`);
    }
    const ctx: RequestContext = { ...header, conn, broker: this.broker, log: this.log };
    const t0 = performance.now();
    const res = await handler.handle(req, ctx);
    this.broker.metrics.observeRequest(apiKey, performance.now() - t0);
    if (res === null) return null;
    const w = responseWriter(apiKey, apiVersion, correlationId);
    handler.write(w, apiVersion, res);
    return w.finish();
  }

  private unsupported(apiKey: number, apiVersion: number, correlationId: number, conn: ConnectionRef): Buffer[] {
    if (apiKey === API_VERSIONS) {
      // KIP-511: a too-new ApiVersions request is answered in v0 with the versions we serve.
      const w = new Writer(512);
      w.int32(correlationId);
      writeApiVersionsResponse(w, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: supportedApis() });
      return w.finish();
    }
    // Kafka closes the connection for an API (or version) its listener does not enable: no
    // response body exists to carry an error, and clients only send what ApiVersions advertised.
    const what = this.byKey.has(apiKey) ? `api ${apiKey} v${apiVersion} is not supported` : `api key ${apiKey} is not served`;
    throw new ProtocolError(`${what} (request from ${conn.remoteAddress}:${conn.remotePort}); closing the connection`);
  }
}
