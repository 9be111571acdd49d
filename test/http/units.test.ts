// Pure pieces: token resolution, OpenAPI conversion, assignors, consumer protocol, record formats.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { resolveAuth, tokenAccepted } from '../../api/http/auth.js';
import { toOpenApi } from '../../api/http/openapi.js';
import { rangeAssign, roundRobinAssign } from '../../broker/client/group/assignors.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../broker/protocol/consumer/consumer-protocol.js';
import { decodeField, encodeField } from '../../api/http/record-format.js';
import { HttpError } from '../../api/http/errors.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'floe-http-unit-'));
  dirs.push(d);
  return d;
};

describe('auth', () => {
  test('generates a token file once, then reuses it', async () => {
    const dir = await tmp();
    const first = await resolveAuth(dir, {}, {});
    expect(first.source).toBe('generated');
    expect(first.generatedToken).toMatch(/^floe_/);
    expect((await stat(join(dir, 'api-token'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'api-token'), 'utf8')).trim()).toBe(first.generatedToken);
    const second = await resolveAuth(dir, {}, {});
    expect(second.source).toBe('file');
    expect(second.generatedToken).toBeUndefined();
    expect(tokenAccepted(second, `Bearer ${first.generatedToken}`)).toBe(true);
    expect(tokenAccepted(second, 'Bearer other')).toBe(false);
    expect(tokenAccepted(second, first.generatedToken)).toBe(false);
  });

  test('brokers starting together on one data dir end up with the same token', async () => {
    const dir = await tmp();
    const all = await Promise.all(Array.from({ length: 5 }, () => resolveAuth(dir, {}, {})));
    const token = (await readFile(join(dir, 'api-token'), 'utf8')).trim();
    expect(all.filter((a) => a.source === 'generated')).toHaveLength(1);
    for (const a of all) expect(tokenAccepted(a, `Bearer ${token}`)).toBe(true);
  });

  test('env tokens and explicit off', async () => {
    const dir = await tmp();
    const env = await resolveAuth(dir, {}, { FLOE_API_TOKENS: ' a1 , b2,' });
    expect(env.source).toBe('env');
    expect(tokenAccepted(env, 'Bearer a1')).toBe(true);
    expect(tokenAccepted(env, 'bearer b2')).toBe(true);
    expect(tokenAccepted(env, 'Bearer c3')).toBe(false);
    const off = await resolveAuth(dir, {}, { FLOE_HTTP_AUTH: 'off' });
    expect(off.enabled).toBe(false);
    await expect(resolveAuth(dir, {}, { FLOE_HTTP_AUTH: 'maybe' })).rejects.toThrow(/on or off/);
    // No token file written when tokens come from env or auth is off.
    await expect(stat(join(dir, 'api-token'))).rejects.toThrow();
  });
});

describe('openapi conversion', () => {
  test('type arrays with null become nullable; const becomes enum', () => {
    expect(toOpenApi({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: { const: 3 } } })).toEqual({
      type: 'object',
      properties: { a: { type: 'string', nullable: true }, b: { enum: [3] } },
    });
    expect(toOpenApi({ type: ['integer', 'string'] })).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }] });
  });
});

describe('assignors', () => {
  const count = (t: string) => ({ a: 5, b: 2 })[t];
  test('range: consecutive ranges per topic, extra partitions to the first members', () => {
    const plan = rangeAssign([{ memberId: 'm2', topics: ['a', 'b'] }, { memberId: 'm1', topics: ['a'] }], count);
    expect(plan.get('m1')).toEqual(new Map([['a', [0, 1, 2]]]));
    expect(plan.get('m2')).toEqual(new Map([['a', [3, 4]], ['b', [0, 1]]]));
  });
  test('round robin skips members not subscribed', () => {
    const plan = roundRobinAssign([{ memberId: 'x', topics: ['a'] }, { memberId: 'y', topics: ['a', 'b'] }], count);
    const all = [...plan.values()].flatMap((m) => [...m].flatMap(([t, ps]) => ps.map((p) => `${t}${p}`))).sort();
    expect(all).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1']);
    expect(plan.get('x')!.get('b')).toBeUndefined();
  });
  test('unknown topics get no partitions', () => {
    expect(rangeAssign([{ memberId: 'm', topics: ['zzz'] }], count).get('m')).toEqual(new Map());
  });
});

describe('consumer protocol bytes', () => {
  test('round trip, and garbage does not throw', () => {
    expect(decodeSubscription(encodeSubscription(['t1', 't2']))).toEqual(['t1', 't2']);
    const a = new Map([['t', [0, 2]]]);
    expect(decodeAssignment(encodeAssignment(a))).toEqual(a);
    expect(decodeSubscription(Buffer.from([0, 0, 0xff]))).toBeNull();
    expect(decodeAssignment(Buffer.from([1]))).toEqual(new Map());
    expect(decodeAssignment(Buffer.alloc(0))).toEqual(new Map());
  });
});

describe('record formats', () => {
  test('encode and decode per format', () => {
    expect(encodeField({ a: 1 }, 'json', 'v')!.toString()).toBe('{"a":1}');
    expect(encodeField(null, 'json', 'v')).toBeNull();
    expect(encodeField('hi', 'text', 'v')!.toString()).toBe('hi');
    expect(encodeField('AQI=', 'binary', 'v')).toEqual(Buffer.from([1, 2]));
    expect(() => encodeField('AQI', 'binary', 'v')).toThrow(HttpError);
    expect(() => encodeField(1, 'text', 'v')).toThrow(/format=text/);
    expect(decodeField(Buffer.from('[1]'), 'json', 'v')).toEqual([1]);
    expect(() => decodeField(Buffer.from('nope'), 'json', 'v')).toThrow(/not JSON/);
    expect(decodeField(Buffer.from([255]), 'binary', 'v')).toBe('/w==');
  });
});
