import { describe, expect, it } from 'vitest';
import { csrfMatches, sameOrigin, sessionCookie } from '../../../src/console/guard.js';
import type { Session } from '../../../src/console/sessions.js';

const HOST = '127.0.0.1:8181';

describe('sameOrigin', () => {
  it.each([
    ['Origin and Sec-Fetch-Site of this origin', { origin: `http://${HOST}`, 'sec-fetch-site': 'same-origin' }, true],
    ['https in front of Warden', { origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin' }, true],
    ['Origin null under no-referrer, Sec-Fetch-Site same-origin', { origin: 'null', 'sec-fetch-site': 'same-origin' }, true],
    ['Sec-Fetch-Site same-origin alone', { 'sec-fetch-site': 'same-origin' }, true],
    ['Origin alone (no Fetch metadata)', { origin: `http://${HOST}` }, true],
    ['another host', { origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' }, false],
    ['another port', { origin: 'http://127.0.0.1:9999' }, false],
    ['cross-site', { origin: `http://${HOST}`, 'sec-fetch-site': 'cross-site' }, false],
    ['same-site', { origin: `http://${HOST}`, 'sec-fetch-site': 'same-site' }, false],
    ['user-initiated (none)', { 'sec-fetch-site': 'none' }, false],
    ['Origin null alone', { origin: 'null' }, false],
    ['a non-web Origin', { origin: `file://${HOST}` }, false],
    ['garbage Origin', { origin: 'http://[' }, false],
    ['nothing', {}, false],
  ])('%s → %s', (_name, headers, want) => {
    expect(sameOrigin({ host: HOST, ...headers })).toBe(want);
  });
});

describe('csrfMatches', () => {
  const s = { csrf: 'token-of-this-session' } as Session;
  it.each([
    ['token-of-this-session', true],
    ['token-of-this-sessio', false],
    ['', false],
    [null, false],
  ])('%s → %s', (submitted, want) => expect(csrfMatches(s, submitted)).toBe(want));
});

describe('sessionCookie', () => {
  it.each([
    ['warden_console=abc', 'abc'],
    ['a=1; warden_console=abc; b=2', 'abc'],
    ['warden_console_x=abc', undefined],
    ['warden_console=abc; warden_console=planted', undefined],
    ['', undefined],
  ])('%s → %s', (cookie, want) => expect(sessionCookie({ cookie })).toBe(want));
});
