// Built-in `reason`: rules over event fields and watch-list similarity, emitting alerts with
// their evidence to the first output topic; optionally asks an OpenAI-compatible chat endpoint.
// vars: rules (JSON: [{name, field, op, value}] or [{name, all|any: [{field, op, value}]}];
//   ops eq ne gt gte lt lte contains matches exists), text_field (default "text"),
//   watchlist (table), threshold (min score, default 0.8), k (default 3),
//   llm_url, llm_model, llm_prompt, llm_api_key, llm_timeout_ms, llm_filter (true: drop alerts
//   the model does not answer "yes" to).
import { defineFunction, type FnContext, type FnRecord, type SearchHit } from '../sdk.js';
import { eventOf, floatVar, getPath, intVar } from './fields.js';

export type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains' | 'matches' | 'exists';
const OPS: readonly Op[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'contains', 'matches', 'exists'];
const ALIASES: Record<string, Op> = { '==': 'eq', '=': 'eq', '!=': 'ne', '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };

export interface Condition {
  field: string;
  op: Op;
  value?: unknown;
}

export interface Rule {
  name: string;
  all: Condition[];
  any: Condition[];
}

function parseCondition(raw: unknown, where: string): Condition {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: a condition must be an object`);
  const c = raw as Record<string, unknown>;
  if (typeof c.field !== 'string' || c.field === '') throw new Error(`${where}: field is required`);
  const op = (typeof c.op === 'string' ? (ALIASES[c.op] ?? c.op) : 'exists') as Op;
  if (!OPS.includes(op)) throw new Error(`${where}: op must be one of ${OPS.join(', ')}`);
  if (op === 'matches') new RegExp(String(c.value), 'i');
  return { field: c.field, op, value: c.value };
}

export function parseRules(text: string | undefined): Rule[] {
  if (text === undefined || text.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`var rules is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new Error('var rules must be a JSON array');
  return raw.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null) throw new Error(`rule ${i} must be an object`);
    const o = r as Record<string, unknown>;
    const name = typeof o.name === 'string' ? o.name : `rule-${i}`;
    const list = (v: unknown, what: string): Condition[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw new Error(`rule ${name}: ${what} must be an array`);
      return v.map((c, j) => parseCondition(c, `rule ${name} ${what}[${j}]`));
    };
    const all = list(o.all, 'all');
    const any = list(o.any, 'any');
    if (o.field !== undefined) all.push(parseCondition(o, `rule ${name}`));
    if (all.length === 0 && any.length === 0) throw new Error(`rule ${name} has no conditions`);
    return { name, all, any };
  });
}

export function holds(c: Condition, event: unknown): boolean {
  const v = getPath(event, c.field);
  switch (c.op) {
    case 'exists':
      return v !== undefined && v !== null;
    case 'eq':
      return v === c.value || (v !== undefined && v !== null && String(v) === String(c.value));
    case 'ne':
      return !(v === c.value || (v !== undefined && v !== null && String(v) === String(c.value)));
    case 'gt':
      return Number(v) > Number(c.value);
    case 'gte':
      return Number(v) >= Number(c.value);
    case 'lt':
      return Number(v) < Number(c.value);
    case 'lte':
      return Number(v) <= Number(c.value);
    case 'contains':
      return Array.isArray(v) ? v.some((x) => String(x) === String(c.value)) : typeof v === 'string' && v.toLowerCase().includes(String(c.value).toLowerCase());
    case 'matches':
      return typeof v === 'string' && new RegExp(String(c.value), 'i').test(v);
  }
}

export function fires(rule: Rule, event: unknown): boolean {
  return rule.all.every((c) => holds(c, event)) && (rule.any.length === 0 || rule.any.some((c) => holds(c, event)));
}

interface Alert {
  alert: 'rule' | 'watchlist';
  name: string;
  function: string;
  source: { topic: string; partition: number; offset: number; key: string | null; timestamp: number };
  event: Record<string, unknown>;
  evidence: unknown;
  analysis?: string;
  analysis_error?: string;
}

function chatUrl(url: string): string {
  const u = url.replace(/\/+$/, '');
  if (u.endsWith('/chat/completions')) return u;
  return u.endsWith('/v1') ? `${u}/chat/completions` : `${u}/v1/chat/completions`;
}

async function askLlm(ctx: FnContext, alert: Alert): Promise<string> {
  const v = ctx.vars;
  const prompt =
    v.llm_prompt ??
    'You review alerts from a stream of camera events. Given the event and the evidence, answer "yes" or "no" on the first line (is this worth a human look?), then one sentence why.';
  const res = await fetch(chatUrl(v.llm_url!), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(v.llm_api_key ? { authorization: `Bearer ${v.llm_api_key}` } : {}) },
    body: JSON.stringify({
      model: v.llm_model ?? 'gpt-4o-mini',
      temperature: 0,
      messages: [
        { role: 'system', content: prompt },
        { role: 'user', content: JSON.stringify({ alert: alert.name, kind: alert.alert, event: alert.event, evidence: alert.evidence }) },
      ],
    }),
    signal: AbortSignal.timeout(intVar(v, 'llm_timeout_ms', 10_000)),
  });
  if (!res.ok) throw new Error(`LLM endpoint answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
  const content = body.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error('LLM answer has no choices[0].message.content');
  return content;
}

async function evaluate(r: FnRecord, ctx: FnContext, rules: Rule[]): Promise<Alert[]> {
  const event = eventOf(r);
  const base = { function: ctx.name, source: { topic: r.topic, partition: r.partition, offset: r.offset, key: r.keyText(), timestamp: r.timestamp }, event };
  const alerts: Alert[] = [];
  for (const rule of rules) {
    if (fires(rule, event)) alerts.push({ alert: 'rule', name: rule.name, ...base, evidence: { all: rule.all, any: rule.any } });
  }
  const watch = ctx.vars.watchlist;
  if (watch) {
    const text = getPath(event, ctx.vars.text_field ?? 'text');
    if (typeof text === 'string' && text.length > 0) {
      const threshold = floatVar(ctx.vars, 'threshold', 0.8);
      const hits: SearchHit[] = await ctx.search(watch, { text, k: intVar(ctx.vars, 'k', 3) });
      const matches = hits.filter((h) => h.score >= threshold).map((h) => ({ key: h.key, score: Math.round(h.score * 10_000) / 10_000, row: h.row }));
      if (matches.length > 0) alerts.push({ alert: 'watchlist', name: `watchlist:${String(matches[0]!.key)}`, ...base, evidence: { table: watch, threshold, text, matches } });
    }
  }
  return alerts;
}

export default defineFunction({
  name: 'reason',
  init(ctx) {
    parseRules(ctx.vars.rules);
    if (ctx.outputs.length === 0) throw new Error('reason needs an output topic for alerts: deploy with -o <topic>');
    if (!ctx.vars.rules && !ctx.vars.watchlist) throw new Error('reason needs --var rules=<json> and/or --var watchlist=<table>');
  },
  async process(r, ctx) {
    const rules = parseRules(ctx.vars.rules);
    for (const alert of await evaluate(r, ctx, rules)) {
      if (ctx.vars.llm_url) {
        try {
          alert.analysis = await askLlm(ctx, alert);
        } catch (err) {
          alert.analysis_error = (err as Error).message;
        }
        if (ctx.vars.llm_filter === 'true' && alert.analysis !== undefined && !/^\W*(yes|true|alert)\b/i.test(alert.analysis)) {
          ctx.metrics.count('alerts_dismissed');
          continue;
        }
      }
      ctx.emit(undefined, { key: alert.source.key, value: alert, headers: { 'floe.alert': alert.alert } });
      ctx.metrics.count('alerts');
    }
  },
});
