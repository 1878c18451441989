// An agent's ceiling: the scopes a task of it may hold and the highest risk it may run at.
// A ceiling scope ending in `*` covers every scope with that prefix (`github:*` covers
// `github:write`); anything else covers only itself.

export function scopeCovered(scope: string, ceiling: readonly string[]): boolean {
  for (const c of ceiling) {
    if (c === scope) return true;
    if (c.endsWith('*') && scope.startsWith(c.slice(0, -1))) return true;
  }
  return false;
}

/** The scopes that lie outside the ceiling (empty: all within). */
export function scopesBeyond(scopes: readonly string[], ceiling: readonly string[]): string[] {
  return scopes.filter((s) => !scopeCovered(s, ceiling));
}

/** Whether `risk` is at most `max` in the configured order of risks (low → high); no max: any. */
export function riskWithin(risk: string, max: string | undefined, risks: readonly string[]): boolean {
  if (max === undefined) return true;
  const r = risks.indexOf(risk);
  const m = risks.indexOf(max);
  return r !== -1 && m !== -1 && r <= m;
}
