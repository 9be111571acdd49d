// A small OpenAPI 3.0 generator fed by fastify's onRoute hook: every route's JSON schemas become
// the document, so it cannot drift from what the server validates.
import type { RouteOptions } from 'fastify';

type Schema = Record<string, unknown>;

interface RouteDoc {
  method: string;
  url: string;
  schema: Schema;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

const HIDDEN = new Set(['HEAD', 'OPTIONS']);

export class OpenApiCollector {
  private readonly routes: RouteDoc[] = [];

  /** Pass to app.addHook('onRoute', ...) before any route is registered. */
  readonly onRoute = (r: RouteOptions): void => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const schema = (r.schema ?? {}) as Schema;
    if (schema.hide === true) return;
    for (const m of methods) if (!HIDDEN.has(m)) this.routes.push({ method: m.toLowerCase(), url: r.url, schema });
  };

  document(info: OpenApiInfo): Schema {
    const paths: Record<string, Record<string, Schema>> = {};
    for (const r of this.routes) {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      (paths[path] ??= {})[r.method] = operation(r);
    }
    return {
      openapi: '3.0.3',
      info,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      paths,
    };
  }
}

function parameters(where: 'path' | 'query', schema: unknown): Schema[] {
  const s = schema as { properties?: Record<string, Schema>; required?: string[] } | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, p]) => {
    const { description, ...rest } = p;
    return { name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: toOpenApi(rest), ...(description ? { description } : {}) };
  });
}

function operation(r: RouteDoc): Schema {
  const s = r.schema;
  const op: Schema = {};
  if (s.summary) op.summary = s.summary;
  if (s.description) op.description = s.description;
  if (s.tags) op.tags = s.tags;
  if (s.security) op.security = s.security;
  const params = [...parameters('path', s.params), ...parameters('query', s.querystring)];
  if (params.length > 0) op.parameters = params;
  if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: toOpenApi(s.body) } } };
  const responses: Record<string, Schema> = {};
  const declared = (s.response ?? {}) as Record<string, Schema>;
  for (const [code, body] of Object.entries(declared)) {
    const desc = (body.description as string | undefined) ?? (code.startsWith('2') ? 'OK' : 'Error');
    const content = (s.produces as string | undefined) ?? 'application/json';
    responses[code] = code === '204' ? { description: desc } : { description: desc, content: { [content]: { schema: toOpenApi(body) } } };
  }
  if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
  op.responses = responses;
  return op;
}

/** JSON Schema -> OpenAPI 3.0 schema: drops keywords 3.0 lacks, turns null types into nullable. */
export function toOpenApi(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema as Schema)) {
    if (k === '$id' || k === '$schema') continue;
    if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length < v.length) out.nullable = true;
      if (types.length === 1) out.type = types[0];
      else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
      continue;
    }
    if (k === 'const') {
      out.enum = [v];
      continue;
    }
    out[k] = k === 'properties' || k === 'patternProperties' ? mapValues(v as Schema) : toOpenApi(v);
  }
  return out;
}

function mapValues(o: Schema): Schema {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toOpenApi(v)]));
}
