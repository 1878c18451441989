// Checks of agent requests: bodies come straight from HTTP (the admin API), so every field is
// checked and a fault (ADMIN_BAD_REQUEST) names the field.

import { WardenError } from '../errors.js';

export const badRequest = (detail: string): WardenError => new WardenError('ADMIN_BAD_REQUEST', detail);

/** A JSON object whose keys are all known; a typo ("stgae") is refused, not ignored. */
export function objectBody(body: unknown, allowed: ReadonlySet<string>): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: must be a JSON object');
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw badRequest(`${k}: unknown field (allowed: ${[...allowed].join(', ')})`);
  return body as Record<string, unknown>;
}

/** A list of strings (each non-empty when `nonEmpty`), at most `max` long. */
export function stringList(v: unknown, field: string, max = 256): string[] {
  if (!Array.isArray(v) || v.length > max || !v.every((s) => typeof s === 'string' && s !== '')) throw badRequest(`${field}: must be a list of at most ${max} non-empty strings`);
  return [...(v as string[])];
}
