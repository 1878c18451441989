// The one bearer parser, shared by the proxy's identity check and the admin API, with one rule
// (RFC 6750 §2.1): `Bearer` (any case), then spaces or tabs, then one token of visible ASCII.
// No header, or an empty one, is "missing" (the challenge names no error); a Bearer scheme with
// an empty or whitespace-only token, a token with inner spaces, or the header sent twice is
// "invalid" (answered `error="invalid_token"`) like any other bad token.

export type BearerReading = { readonly kind: 'missing'; readonly why: string } | { readonly kind: 'invalid'; readonly why: string } | { readonly kind: 'token'; readonly token: string };

const SCHEME = /^bearer(?:[ \t]+|$)/i;
const TOKEN = /^[\x21-\x7e]+$/;

export interface BearerOptions {
  /** Also accept a bare token without the scheme (a custom `identity.header`). */
  readonly bare?: boolean;
}

export function parseBearer(value: string | string[] | undefined, opts: BearerOptions = {}): BearerReading {
  if (value === undefined) return { kind: 'missing', why: 'no credentials' };
  if (Array.isArray(value)) return { kind: 'invalid', why: 'credentials sent more than once' };
  const trimmed = value.trim();
  if (trimmed === '') return { kind: 'missing', why: 'empty credentials' };
  const scheme = SCHEME.exec(trimmed);
  if (!scheme && !opts.bare) return { kind: 'missing', why: 'scheme is not Bearer' };
  const token = scheme ? trimmed.slice(scheme[0].length) : trimmed;
  if (token === '') return { kind: 'invalid', why: 'empty bearer token' };
  if (!TOKEN.test(token)) return { kind: 'invalid', why: 'bearer token is not one visible-ASCII token' };
  return { kind: 'token', token };
}
