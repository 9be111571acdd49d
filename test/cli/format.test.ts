import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../broker/client/partitioner.js';
import { parseOffsetRange, parseStart } from '../../broker/client/consumer.js';
import { InputParser, parseFormat, recordJson, renderRecord } from '../../api/cli/format/record-format.js';
import type { ConsumedRecord } from '../../broker/client/consumer.js';

function parseAll(fmt: string, chunks: string[]): Array<Record<string, string | number | undefined>> {
  const p = new InputParser(fmt);
  const recs = [...chunks.flatMap((c) => p.push(Buffer.from(c))), ...p.end()];
  return recs.map((r) => ({ key: r.key?.toString(), value: r.value?.toString(), partition: r.partition, timestamp: r.timestamp }));
}

describe('InputParser', () => {
  it('reads one value per line, keeping empty lines and a last line without newline', () => {
    expect(parseAll('%v\\n', ['a\n\nb', 'c\nlast']).map((r) => r.value)).toEqual(['a', '', 'bc', 'last']);
  });

  it('splits key and value at a delimiter even when chunks cut through it', () => {
    const recs = parseAll('%k::%v\\n', ['k1:', ':v1\nk2', '::v:2\n']);
    expect(recs.map((r) => [r.key, r.value])).toEqual([
      ['k1', 'v1'],
      ['k2', 'v:2'],
    ]);
  });

  it('reads partition and timestamp fields', () => {
    const recs = parseAll('%p %d %k\\t%v\\n', ['2 1700000000000 key\tvalue\n']);
    expect(recs).toEqual([{ partition: 2, timestamp: 1700000000000, key: 'key', value: 'value' }]);
  });

  it('rejects input that does not match the format', () => {
    const p = new InputParser('[%v]\\n');
    expect(() => p.push(Buffer.from('[ok]\nnope\n'))).toThrow(/does not match the format/);
    expect(() => parseAll('%p:%v\\n', ['x:1\n'])).toThrow(/%p must be a non-negative integer/);
  });

  it('rejects formats it cannot read', () => {
    expect(() => new InputParser('%k%v\\n')).toThrow(/delimiter between/);
    expect(() => new InputParser('%o\\n')).toThrow(/unknown or unsupported field %o/);
    expect(() => new InputParser('plain')).toThrow(/no field/);
  });

  it('keeps binary-safe bytes from \\x escapes', () => {
    const p = new InputParser('%k\\x01%v\\n');
    const [r] = [...p.push(Buffer.from([0x6b, 0x01, 0xc3, 0xa9, 0x0a])), ...p.end()];
    expect(r?.key?.toString()).toBe('k');
    expect(r?.value).toEqual(Buffer.from('é'));
  });
});

const rec: ConsumedRecord = {
  topic: 't',
  partition: 3,
  offset: 42,
  timestamp: 1700000000123,
  timestampType: 'CreateTime',
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: [
    { key: 'a', value: Buffer.from('1') },
    { key: 'b', value: null },
  ],
};

describe('output formats', () => {
  it('renders every field and escape', () => {
    const out = renderRecord(parseFormat('%t/%p@%o %d [%k] %v {%h} 100%%\\t\\n'), rec).toString();
    expect(out).toBe('t/3@42 1700000000123 [k] v {a=1,b=} 100%\t\n');
  });

  it('prints JSON with nulls, and base64 for non-UTF-8 bytes', () => {
    expect(JSON.parse(recordJson(rec))).toEqual({
      topic: 't',
      partition: 3,
      offset: 42,
      timestamp: 1700000000123,
      key: 'k',
      value: 'v',
      headers: [
        { key: 'a', value: '1' },
        { key: 'b', value: null },
      ],
    });
    const bin = JSON.parse(recordJson({ ...rec, key: null, value: Buffer.from([0xff, 0x00]) }));
    expect(bin).toMatchObject({ key: null, value: '/wA=', valueEncoding: 'base64' });
  });
});

describe('partitioner and offsets', () => {
  it('matches the Java client murmur2 partitioner', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe((-790332482 & 0x7fffffff) % 7);
  });

  it('parses -o values', () => {
    expect(parseStart('start')).toEqual({ kind: 'start' });
    expect(parseStart('end')).toEqual({ kind: 'end' });
    expect(parseStart('17')).toEqual({ kind: 'offset', offset: 17 });
    expect(parseStart('@1700000000000')).toEqual({ kind: 'time', ms: 1700000000000 });
    expect(() => parseStart('soon')).toThrow(/invalid offset "soon"/);
    expect(parseStart('+3')).toEqual({ kind: 'fromStart', delta: 3 });
    expect(parseStart('-3')).toEqual({ kind: 'fromEnd', delta: 3 });
    expect(parseStart('@-1h')).toEqual({ kind: 'time', ms: expect.any(Number) });
    expect(() => parseStart('1:3')).toThrow(/a range is not allowed/);
  });

  it('parses -o ranges', () => {
    const now = 1_700_000_000_000;
    expect(parseOffsetRange('1:3', now)).toEqual({ start: { kind: 'offset', offset: 1 }, end: { kind: 'offset', offset: 3 } });
    expect(parseOffsetRange('5:+2', now)).toEqual({ start: { kind: 'offset', offset: 5 }, end: { kind: 'offset', offset: 7 } });
    expect(parseOffsetRange(':end', now)).toEqual({ start: { kind: 'start' }, end: { kind: 'end' } });
    expect(parseOffsetRange('-10:end', now)).toEqual({ start: { kind: 'fromEnd', delta: 10 }, end: { kind: 'end' } });
    expect(parseOffsetRange('@-30m:@-10s', now)).toEqual({ start: { kind: 'time', ms: now - 1_800_000 }, end: { kind: 'time', ms: now - 10_000 } });
    expect(parseOffsetRange('@2023-11-14T22:13:20Z', now)).toEqual({ start: { kind: 'time', ms: now } });
    expect(parseOffsetRange('@2023-11-14T22:13:20Z:@2023-11-14T22:13:30Z', now)).toEqual({ start: { kind: 'time', ms: now }, end: { kind: 'time', ms: now + 10_000 } });
    expect(() => parseOffsetRange('start:+2', now)).toThrow(/invalid offset/);
    expect(() => parseOffsetRange('@-1y', now)).toThrow(/invalid offset/);
  });
});
