import { describe, expect, it } from 'vitest';
import { parseProperties } from '../../broker/config/properties-file.js';

describe('parseProperties', () => {
  it('reads Kafka server.properties syntax', () => {
    const text = [
      '# comment',
      '   ! also a comment',
      '',
      'broker.id=1',
      'log.dirs = /var/floe  ',
      'listeners:PLAINTEXT://:9092',
      'num.partitions 3',
      '  indented.key=value with spaces',
      'long.value=first,\\',
      '     second,\\',
      '     third',
      'escaped\\=key=a\\tb\\u0041\\\\',
      'empty.value=',
      'broker.id=2',
    ].join('\r\n');
    const p = parseProperties(text);
    expect(Object.fromEntries(p)).toEqual({
      'broker.id': '2',
      'log.dirs': '/var/floe  ',
      listeners: 'PLAINTEXT://:9092',
      'num.partitions': '3',
      'indented.key': 'value with spaces',
      'long.value': 'first,second,third',
      'escaped=key': 'a\tbA\\',
      'empty.value': '',
    });
  });

  it('keeps a trailing escaped backslash as a literal, not a continuation', () => {
    const p = parseProperties('path=C:\\\\dir\\\\\nnext=1\n');
    expect(p.get('path')).toBe('C:\\dir\\');
    expect(p.get('next')).toBe('1');
  });
});
