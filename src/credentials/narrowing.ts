// The policy's `credential: {scope, resource}` narrows a just-in-time credential for one call. It
// may only narrow: every scope must be one of the lane's, and the resource must be the lane's or
// lie under it (same origin, a path below the lane's at a segment boundary). Anything else is a
// policy error (fail closed), never a wider token.

import { WardenError } from '../errors.js';

export interface Narrowing {
  readonly scope?: string;
  readonly resource?: string;
}

const refused = (detail: string): WardenError => new WardenError('POLICY_RESULT_INVALID', `credential: ${detail}`);

const scopeSet = (s: string): string[] => s.split(' ').filter(Boolean);

function under(resource: string, base: string): boolean {
  if (resource === base) return true;
  let r: URL;
  let b: URL;
  try {
    r = new URL(resource);
    b = new URL(base);
  } catch {
    return false;
  }
  if (r.origin !== b.origin || r.search !== '' || r.hash !== '' || r.username !== '' || r.password !== '') return false;
  const basePath = b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`;
  // URL parsing removes dot segments, so `/a/../b` cannot climb out of the base.
  return r.pathname === b.pathname || r.pathname.startsWith(basePath);
}

/** The scope and resource to ask for: the lane's, narrowed by the policy. */
export function narrow(lane: Narrowing, by: Narrowing | undefined, label: string): Narrowing {
  if (!by) return lane;
  let scope = lane.scope;
  if (by.scope !== undefined) {
    if (lane.scope === undefined) throw refused(`${label} has no scope to narrow`);
    const allowed = new Set(scopeSet(lane.scope));
    const asked = scopeSet(by.scope);
    const beyond = asked.filter((s) => !allowed.has(s));
    if (asked.length === 0 || beyond.length > 0) throw refused(`scope is not within ${label}'s`);
    scope = [...new Set(asked)].join(' ');
  }
  let resource = lane.resource;
  if (by.resource !== undefined) {
    if (lane.resource === undefined || !under(by.resource, lane.resource)) throw refused(`resource is not within ${label}'s`);
    resource = by.resource;
  }
  return { ...(scope !== undefined && { scope }), ...(resource !== undefined && { resource }) };
}
