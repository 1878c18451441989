import { describe, expect, it } from 'vitest';
import { riskWithin, scopeCovered, scopesBeyond } from '../../../src/agents/ceiling.js';

describe('scope ceiling', () => {
  it.each([
    ['github:read', ['github:read'], true],
    ['github:write', ['github:read'], false],
    ['github:write', ['github:*'], true],
    ['github:admin:org', ['github:*'], true], // a prefix: `github:*` covers everything that starts with `github:`
    ['githubx:write', ['github:*'], false],
    ['gitlab:read', ['github:*'], false],
    ['anything', ['*'], true],
    ['github:read', [], false],
    ['github:*', ['github:read'], false], // a task cannot claim a wildcard its agent lacks
  ] as const)('%s within %j: %s', (scope, ceiling, expected) => {
    expect(scopeCovered(scope, ceiling)).toBe(expected);
  });

  it('names the scopes beyond the ceiling', () => {
    expect(scopesBeyond(['a:read', 'b:write', 'a:write'], ['a:*'])).toEqual(['b:write']);
    expect(scopesBeyond([], [])).toEqual([]);
  });
});

describe('risk ceiling', () => {
  const risks = ['low', 'medium', 'high'];
  it.each([
    ['low', 'medium', true],
    ['medium', 'medium', true],
    ['high', 'medium', false],
    ['high', undefined, true],
    ['unknown', 'high', false],
    ['low', 'unknown', false],
  ] as const)('%s under max %s: %s', (risk, max, expected) => {
    expect(riskWithin(risk, max, risks)).toBe(expected);
  });
});
