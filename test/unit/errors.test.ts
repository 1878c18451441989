import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, WardenError, toWardenError } from '../../src/errors.js';

describe('error registry', () => {
  it('is equal to the README errors table', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| ([^|]+?) \|/gm)].map((m) => [m[1], Number(m[2]), m[3]!.trim()]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, spec]) => [code, spec.status, spec.message]));
  });

  it('keeps details out of the public body and wraps thrown strings', () => {
    const e = new WardenError('POLICY_EVAL_FAILED', 'internal detail /etc/x');
    expect(JSON.stringify(e.toPublic())).not.toContain('internal detail');
    const wrapped = toWardenError('opa_abort: boom', 'POLICY_EVAL_FAILED');
    expect(wrapped.code).toBe('POLICY_EVAL_FAILED');
    expect(wrapped.cause).toBe('opa_abort: boom');
    expect(toWardenError({ message: 'x' }).detail).toBe('{"message":"x"}');
  });
});
