// Starts the HTTP API beside a broker: resolves auth (token file on first start), binds, and
// returns a handle whose close() ends streams and consumer instances first.
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../broker/core/broker.js';
import { buildHttpApp } from './app.js';
import { generatedTokenNotice, resolveAuth, type AuthOptions } from './auth.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  auth?: AuthOptions;
  /** The Kafka listener; /readyz checks that it accepts connections. */
  kafka?: { host: string; port: number; connectionCount?: () => number };
  env?: NodeJS.ProcessEnv;
}

export interface HttpServer {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

function accepts(host: string, port: number): Promise<boolean> {
  const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return new Promise((resolve) => {
    const s = connect({ host: target, port });
    const done = (ok: boolean): void => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function startHttpServer(broker: Broker, log: Logger, opts: HttpServerOptions): Promise<HttpServer> {
  const auth = await resolveAuth(broker.config.dataDir, opts.auth, opts.env);
  const kafka = opts.kafka;
  const { app } = await buildHttpApp({
    broker,
    log,
    auth,
    kafkaConnections: kafka?.connectionCount,
    readinessChecks: kafka ? { kafka_listener: () => accepts(kafka.host, kafka.port) } : {},
  });
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  if (auth.source === 'generated') {
    // Shown once, when the token file is created; later starts reuse the file silently.
    log.warn({ tokenFile: auth.tokenFile }, generatedTokenNotice(auth));
  }
  log.info({ url, auth: auth.source }, 'http api listening');
  return {
    host: opts.host,
    port,
    url,
    close: () => app.close(),
  };
}
