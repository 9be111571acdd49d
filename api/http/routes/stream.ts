// Server-Sent Events: follow a topic live. Each event's id holds the position of every partition
// after it ("p:offset,..."), so a client reconnecting with Last-Event-ID resumes exactly.
// Partitions led by another broker of a cluster are followed through broker.router's view.
import type { FastifyInstance } from 'fastify';
import type { PluginOptions } from '../context.js';
import { badRequest, HttpError } from '../errors.js';
import { readableLog, readFrom, startOffset, type ReadableLog } from '../read.js';
import { toJsonRecord, type RecordFormat } from '../record-format.js';
import { errorResponses, formatProp, topicParams } from '../schemas.js';
import { topicOrThrow } from '../admin/topics-ops.js';

const KEEPALIVE_MS = 15_000;
const BATCH = 500;

/** `earliest`, `latest`, an offset, or `@<ms>` (first record at/after that time). */
async function initialOffset(log: ReadableLog, from: string): Promise<number> {
  const start = log.logStartOffset ?? 0;
  if (from === 'earliest') return start;
  if (from === 'latest') return log.highWatermark;
  if (from.startsWith('@')) return startOffset(log, { timestamp: Number(from.slice(1)) });
  return Math.min(Math.max(Number(from), start), log.highWatermark);
}

function parseLastEventId(id: string | undefined): Map<number, number> | null {
  if (!id) return null;
  const out = new Map<number, number>();
  for (const part of id.split(',')) {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    if (!m) return null;
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

export default async function streamRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker } = ctx;
  app.get<{ Params: { topic: string }; Querystring: { from: string; partitions?: string; format: RecordFormat } }>('/v1/topics/:topic/stream', {
    schema: {
      summary: 'Follow a topic live (text/event-stream)',
      description:
        'Sends `event: record` with one JSON record per event. `from`: earliest, latest (default), an offset, or @<epoch ms>. ' +
        'A Last-Event-ID header overrides `from`. A comment line is sent every 15 s to keep proxies from closing the stream.',
      tags: ['records'],
      produces: 'text/event-stream',
      params: topicParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          from: { type: 'string', pattern: '^(earliest|latest|\\d+|@\\d+)$', default: 'latest' },
          partitions: { type: 'string', pattern: '^\\d+(,\\d+)*$', description: 'Comma list; default all' },
          format: formatProp,
        },
      },
      response: { 200: { type: 'string', description: 'An event stream' }, ...errorResponses(400, 404) },
    },
    handler: async (req, reply) => {
      const { topic } = req.params;
      if (!broker.topics.get(topic) && broker.cluster !== null) await broker.store.refresh();
      const t = topicOrThrow(broker, topic);
      const wanted = req.query.partitions ? [...new Set(req.query.partitions.split(',').map(Number))] : Array.from({ length: t.partitions }, (_, i) => i);
      for (const p of wanted) if (p >= t.partitions) throw new HttpError(404, 404, `topic '${topic}' has no partition ${p}`);
      const resume = parseLastEventId(req.headers['last-event-id'] as string | undefined);
      const positions = new Map<number, number>();
      for (const p of wanted) {
        const log = broker.cluster === null ? broker.topics.partition(topic, p) : await readableLog(broker, topic, p);
        if (!log) throw badRequest(`partition ${p} is not open`);
        positions.set(p, resume?.get(p) ?? (await initialOffset(log, req.query.from)));
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': String(req.id) });
      res.write(': stream open\n\n');
      let open = true;
      let wake: (() => void) | null = null;
      const stop = (): void => {
        if (!open) return;
        open = false;
        ctx.streams.delete(stop);
        wake?.();
        res.end();
      };
      ctx.streams.add(stop);
      req.raw.on('close', stop);
      res.on('close', stop);
      const write = async (chunk: string): Promise<void> => {
        if (!res.write(chunk)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
      };
      const idOf = (): string => [...positions].map(([p, o]) => `${p}:${o}`).join(',');

      try {
        while (open) {
          let sent = 0;
          const views = new Map<number, ReadableLog>();
          for (const p of wanted) {
            const log = broker.cluster === null ? broker.topics.partition(topic, p) : broker.topics.get(topic) ? await broker.router.view(topic, p) : undefined;
            if (log) views.set(p, log);
            // Not published by any leader yet: nothing to read there.
            else if (broker.cluster !== null && broker.topics.get(topic)) continue;
            if (!log) {
              await write(`event: error\ndata: ${JSON.stringify({ error_code: 404, message: `topic '${topic}' partition ${p} is gone` })}\n\n`);
              stop();
              break;
            }
            let pos = positions.get(p)!;
            if (pos < (log.logStartOffset ?? 0)) pos = log.logStartOffset ?? 0;
            if (pos >= log.highWatermark) continue;
            const r = await readFrom(log, pos, 1024 * 1024, BATCH);
            if (r.bytes > 0) broker.metrics.bytesOut.inc({ topic, partition: p }, r.bytes);
            for (const rec of r.records) {
              positions.set(p, rec.offset + 1);
              let data: string;
              try {
                data = JSON.stringify(toJsonRecord(topic, p, rec, req.query.format));
              } catch (err) {
                data = JSON.stringify({ error_code: 422, message: (err as Error).message, topic, partition: p, offset: rec.offset });
              }
              await write(`id: ${idOf()}\nevent: record\ndata: ${data}\n\n`);
              if (!open) break;
            }
            positions.set(p, r.nextOffset);
            sent += r.records.length;
            if (r.records.length > 0) ctx.metrics.recordsOut.inc({ topic, partition: p }, r.records.length);
          }
          if (!open || sent > 0) continue;
          await new Promise<void>((resolve) => {
            const offs: Array<() => void> = [];
            const done = (): void => {
              clearTimeout(timer);
              for (const off of offs) off();
              wake = null;
              resolve();
            };
            const timer = setTimeout(() => {
              if (open) res.write(': keep-alive\n\n');
              done();
            }, KEEPALIVE_MS);
            wake = done;
            for (const p of wanted) {
              const log = views.get(p);
              if (log) offs.push(log.onAdvance(done));
            }
          });
        }
      } catch (err) {
        req.log.warn({ err, topic }, 'event stream failed');
        if (open) res.write(`event: error\ndata: ${JSON.stringify({ error_code: 500, message: (err as Error).message })}\n\n`);
        stop();
      }
    },
  });
}
