import { describe, expect, it } from 'vitest';
import { supportedApis } from '../../broker/handlers/registry.js';

describe('admin APIs in ApiVersions', () => {
  it('advertises the version ranges the handlers serve', () => {
    const byKey = new Map(supportedApis().map((a) => [a.apiKey, [a.minVersion, a.maxVersion]]));
    expect(byKey.get(20)).toEqual([1, 6]);
    expect(byKey.get(21)).toEqual([0, 2]);
    expect(byKey.get(23)).toEqual([0, 4]);
    expect(byKey.get(32)).toEqual([1, 4]);
    expect(byKey.get(33)).toEqual([0, 2]);
    expect(byKey.get(37)).toEqual([0, 3]);
    expect(byKey.get(44)).toEqual([0, 1]);
    expect(byKey.get(60)).toEqual([0, 1]);
    expect(byKey.get(61)).toEqual([0, 0]);
  });
});
