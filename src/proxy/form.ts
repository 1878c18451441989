// URL-encoded form bodies, shown to the policy as `input.request.form: {k: [v]}` (DESIGN.md).
// The upstream receives the raw body, so a form is shown only when every common parser reads it
// the same: `&` separators only (older parsers also split on `;`), well-formed escapes (some
// keep a bad `%zz` literally, some fail), and UTF-8 (URLSearchParams turns bad bytes into
// U+FFFD, other parsers keep them). Anything else is refused as BODY_AMBIGUOUS.

import { isUtf8 } from 'node:buffer';
import { WardenError } from '../errors.js';

export type Form = Record<string, string[]>;

function decode(s: string): string {
  // decodeURIComponent throws on a malformed escape and on escapes that are not UTF-8
  // (overlong forms and surrogates included).
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

export function readForm(raw: Buffer): Form {
  const form: Form = Object.create(null) as Form;
  if (!isUtf8(raw)) throw new WardenError('BODY_AMBIGUOUS', 'form body is not UTF-8');
  const text = raw.toString('utf8');
  if (text.includes(';')) throw new WardenError('BODY_AMBIGUOUS', 'form body with ";"');
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decode(eq === -1 ? pair : pair.slice(0, eq));
      value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    } catch (err) {
      throw new WardenError('BODY_AMBIGUOUS', 'malformed escape in a form body', { cause: err });
    }
    (form[name] ??= []).push(value);
  }
  return form;
}
