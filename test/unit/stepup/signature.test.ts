import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../../src/stepup/signature.js';

const secret = 'whsec-0123456789abcdef';
const body = '{"type":"approval.requested","approval":{"id":"x"}}';
const now = 1_750_000_000;

describe('signPayload', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    expect(signPayload(secret, body, now)).toBe(`t=${now},v1=${expected}`);
    expect(signPayload(secret, Buffer.from(body), now)).toBe(`t=${now},v1=${expected}`);
  });
});

describe('verifySignature', () => {
  const header = signPayload(secret, body, now);

  it('accepts its own signature, as string or bytes', () => {
    expect(verifySignature(secret, header, body, { now })).toBe(true);
    expect(verifySignature(secret, header, Buffer.from(body), { now: now + 299 })).toBe(true);
  });

  it('refuses a tampered body', () => {
    expect(verifySignature(secret, header, body.replace('"x"', '"y"'), { now })).toBe(false);
    expect(verifySignature(secret, header, body + ' ', { now })).toBe(false);
  });

  it('refuses the wrong secret', () => {
    expect(verifySignature('another-secret-0123456', header, body, { now })).toBe(false);
    expect(verifySignature('', header, body, { now })).toBe(false);
  });

  it('refuses stale and future timestamps outside the tolerance', () => {
    expect(verifySignature(secret, header, body, { now: now + 301 })).toBe(false);
    expect(verifySignature(secret, header, body, { now: now - 301 })).toBe(false);
    expect(verifySignature(secret, header, body, { now: now + 20, toleranceSeconds: 10 })).toBe(false);
  });

  it('refuses a replayed MAC under a new timestamp', () => {
    const mac = header.split(',v1=')[1];
    expect(verifySignature(secret, `t=${now + 60},v1=${mac}`, body, { now: now + 60 })).toBe(false);
  });

  const mac = header.split(',v1=')[1]!;
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no v1', `t=${now}`],
    ['no t', `v1=${mac}`],
    ['order swapped', `v1=${mac},t=${now}`],
    ['uppercase hex', `t=${now},v1=${mac.toUpperCase()}`],
    ['short mac', `t=${now},v1=${mac.slice(2)}`],
    ['extra part', `t=${now},v1=${mac},v0=abc`],
    ['two v1', `t=${now},v1=${mac},v1=${mac}`],
    ['spaces', `t=${now}, v1=${mac}`],
    ['negative t', `t=-${now},v1=${mac}`],
    ['fractional t', `t=${now}.5,v1=${mac}`],
    ['non-hex', `t=${now},v1=${'z'.repeat(64)}`],
  ])('refuses a malformed header: %s', (_name, h) => {
    expect(verifySignature(secret, h, body, { now })).toBe(false);
  });
});
