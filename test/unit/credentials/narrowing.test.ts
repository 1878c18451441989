import { describe, expect, it } from 'vitest';
import { narrow } from '../../../src/credentials/narrowing.js';

const lane = { scope: 'repo:read repo:write', resource: 'https://api.example/v1' };

describe('narrowing a just-in-time credential', () => {
  it.each([
    [undefined, lane],
    [{ scope: 'repo:read' }, { scope: 'repo:read', resource: lane.resource }],
    [{ scope: 'repo:write repo:read repo:read' }, { scope: 'repo:write repo:read', resource: lane.resource }],
    [{ resource: 'https://api.example/v1/repos/acme' }, { scope: lane.scope, resource: 'https://api.example/v1/repos/acme' }],
    [{ resource: 'https://api.example/v1' }, lane],
    [{ resource: 'https://api.example/v1/a/../b' }, { scope: lane.scope, resource: 'https://api.example/v1/a/../b' }],
  ])('%j → %j', (by, expected) => {
    expect(narrow(lane, by, 'l')).toEqual(expected);
  });

  it.each([
    ['a scope the lane lacks', { scope: 'repo:admin' }],
    ['a lane scope plus another', { scope: 'repo:read repo:admin' }],
    ['an empty scope', { scope: ' ' }],
    ['another origin', { resource: 'https://evil.example/v1' }],
    ['a sibling path that shares the prefix', { resource: 'https://api.example/v10' }],
    ['a path that climbs out', { resource: 'https://api.example/v1/../admin' }],
    ['a query', { resource: 'https://api.example/v1?x=1' }],
    ['userinfo', { resource: 'https://user@api.example/v1/x' }],
    ['not a URL', { resource: 'api.example/v1/x' }],
  ])('refuses %s (POLICY_RESULT_INVALID)', (_name, by) => {
    expect(() => narrow(lane, by, 'l')).toThrow(expect.objectContaining({ code: 'POLICY_RESULT_INVALID' }));
  });

  it('refuses to narrow what the lane does not set', () => {
    expect(() => narrow({}, { scope: 'a' }, 'l')).toThrow(expect.objectContaining({ code: 'POLICY_RESULT_INVALID' }));
    expect(() => narrow({}, { resource: 'https://a.example/' }, 'l')).toThrow(expect.objectContaining({ code: 'POLICY_RESULT_INVALID' }));
  });
});
