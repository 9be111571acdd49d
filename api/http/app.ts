// Builds the HTTP API as a fastify instance (testable with inject()), one plugin per feature.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import './fastify-schema.js';
import type { Logger } from 'pino';
import type { Broker } from '../../broker/core/broker.js';
import { authHook, type AuthSettings } from './auth.js';
import type { HttpContext, Readiness } from './context.js';
import { ConsumerRegistry } from './consumers/consumer-registry.js';
import { HttpError } from './errors.js';
import { HttpMetrics, type MetricSources } from './http-metrics.js';
import { OpenApiCollector } from './openapi.js';
import { HttpPartitioner } from './partitioner.js';
import clusterRoutes from './routes/cluster.js';
import consumerRoutes from './routes/consumers.js';
import groupRoutes from './routes/groups.js';
import metaRoutes from './routes/meta.js';
import recordRoutes from './routes/records.js';
import streamRoutes from './routes/stream.js';
import topicRoutes from './routes/topics.js';
import { LIMITS } from './schemas.js';

export interface HttpAppOptions {
  broker: Broker;
  log: Logger;
  auth: AuthSettings;
  /** Extra readiness checks (e.g. the Kafka listener accepts connections). */
  readinessChecks?: Record<string, () => Promise<boolean> | boolean>;
  kafkaConnections?: () => number;
  consumerIdleTimeoutMs?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && REQUEST_ID.test(v) ? v : randomUUID();
}

export async function buildHttpApp(opts: HttpAppOptions): Promise<{ app: FastifyInstance; ctx: HttpContext }> {
  const { broker } = opts;
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    // Our onResponse hook logs one line per request instead of fastify's two.
    logController: new LogController({ requestIdLogLabel: 'reqId', disableRequestLogging: true }),
    bodyLimit: LIMITS.defaultBodyBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });

  const sources: MetricSources = { broker, kafkaConnections: opts.kafkaConnections };
  const metrics = HttpMetrics.for(broker.metrics.registry, sources);
  const consumers = new ConsumerRegistry(broker, opts.consumerIdleTimeoutMs);
  sources.consumerInstances = () => consumers.size;
  sources.httpConnections = () => openConnections;
  let openConnections = 0;
  app.server.on('connection', (s) => {
    openConnections++;
    s.once('close', () => openConnections--);
  });

  const ctx: HttpContext = {
    broker,
    partitioner: new HttpPartitioner(),
    consumers,
    metrics,
    streams: new Set(),
    readiness: async (): Promise<Readiness> => {
      const checks: Record<string, boolean> = { broker_open: !broker.closing };
      for (const [name, check] of Object.entries(opts.readinessChecks ?? {})) {
        try {
          checks[name] = await check();
        } catch {
          checks[name] = false;
        }
      }
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  };

  const openapi = new OpenApiCollector();
  app.addHook('onRoute', openapi.onRoute);
  app.addHook('onRequest', authHook(opts.auth));
  // A POST/PATCH without a body counts as {} (routes whose fields are all optional accept it).
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) req.body = {};
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requestDuration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    req.log[level]({ method: req.method, url: req.url, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'http request');
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body());
    const fe = err as FastifyError;
    if (fe.validation) return reply.code(400).send({ error_code: 400, message: fe.message });
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error_code: 413, message: `request body is larger than this route's limit` });
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unhandled error');
    return reply.code(status).send({ error_code: status, message: status === 500 ? 'internal error' : fe.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error_code: 404, message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  const info = {
    title: 'Floe HTTP API',
    version: '1',
    description:
      'Admin, records, consumer groups and observability for a Floe node. Every route but /healthz and /readyz needs `Authorization: Bearer <token>`. ' +
      `Limits: request bodies ${LIMITS.defaultBodyBytes} bytes (produce: ${LIMITS.produceBodyBytes} bytes and ${LIMITS.maxRecordsPerProduce} records); ` +
      `reads at most ${LIMITS.maxReadRecords} records and ${LIMITS.maxReadBytes} bytes; polls wait at most ${LIMITS.maxPollTimeoutMs} ms. ` +
      'Errors are always { error_code, message }: error_code is the Kafka error name when one applies, else the HTTP status.',
  };
  await app.register(metaRoutes, { ctx, openapi, info });
  await app.register(topicRoutes, { ctx });
  await app.register(recordRoutes, { ctx });
  await app.register(streamRoutes, { ctx });
  await app.register(groupRoutes, { ctx });
  await app.register(consumerRoutes, { ctx });
  await app.register(clusterRoutes, { ctx });
  await app.register((await import('./routes/tables.js')).default, { ctx });
  await app.register((await import('./routes/functions.js')).default, { ctx });

  app.addHook('preClose', async () => {
    for (const stop of [...ctx.streams]) stop();
    await consumers.closeAll();
  });
  return { app, ctx };
}
