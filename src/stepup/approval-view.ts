// How an approval is shown by the admin API and in step-up answers.

import type { Approval } from '../store/approvals.js';

/** The JSON form of an approval for the admin API and step-up answers: RFC 3339 times, no nulls. */
export function approvalView(a: Approval): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (v === null) continue;
    out[k] = k.endsWith('_at') && typeof v === 'number' ? new Date(v).toISOString() : v;
  }
  return out;
}
