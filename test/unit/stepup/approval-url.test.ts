import { describe, expect, it } from 'vitest';
import { approvalUrl, approvalUrlTemplate } from '../../../src/stepup/approval-url.js';

describe('approval URL', () => {
  it.each([
    [{ address: '127.0.0.1', family: 'IPv4', port: 8181 }, 'http://127.0.0.1:8181/console/approvals/{id}'],
    [{ address: '::1', family: 'IPv6', port: 9000 }, 'http://[::1]:9000/console/approvals/{id}'],
  ])('defaults to the admin listener at its bound address %#', (addr, want) => {
    expect(approvalUrlTemplate(undefined, addr)).toBe(want);
  });

  it('keeps a configured template and fills in the id, encoded', () => {
    const t = approvalUrlTemplate('https://console.example/a/{id}?from=warden', { address: '127.0.0.1', family: 'IPv4', port: 1 });
    expect(approvalUrl(t, 'ab/c d')).toBe('https://console.example/a/ab%2Fc%20d?from=warden');
  });
});
