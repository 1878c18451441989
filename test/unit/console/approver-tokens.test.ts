import { describe, expect, it } from 'vitest';
import { ApproverTokens, mayDecide } from '../../../src/console/approver-tokens.js';

describe('ApproverTokens', () => {
  const tokens = new ApproverTokens('admin-token-0123456789', new Map([['alice', 'alice-token-0123456789'], ['bob', 'bob-token-0123456789']]));
  it.each([
    ['admin-token-0123456789', 'admin'],
    ['alice-token-0123456789', 'alice'],
    ['bob-token-0123456789', 'bob'],
    ['alice-token-012345678', undefined],
    ['', undefined],
  ])('%s is %s', (token, name) => expect(tokens.identify(token)).toBe(name));

  it.each([
    ['admin', ['alice'], true],
    ['alice', ['alice', 'bob'], true],
    ['bob', ['alice'], false],
    ['bob', [], true],
  ])('%s may decide an approval for %j: %s', (who, approvers, want) => expect(mayDecide(who, approvers)).toBe(want));
});
