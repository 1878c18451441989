// Strict parsing of the policy result (opa-envoy-plugin treats a wrongly typed result as an
// error). Anything but the DESIGN.md shape is a POLICY_RESULT_INVALID, which the caller answers
// as a deny: only a parsed allow opens the path.

import { WardenError } from '../errors.js';
import type { CredentialNarrowing, Decision } from './types.js';

const KEYS = new Set(['decision', 'reason', 'lane', 'risk', 'headers', 'approvers', 'credential']);
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
// Policy headers may not smuggle framing, hop-by-hop or credential headers.
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']);

function bad(why: string): WardenError {
  return new WardenError('POLICY_RESULT_INVALID', why);
}

function optionalString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${key} must be a string`);
  return v;
}

/** `credential: {scope?, resource?}`: narrows the lane's just-in-time credential for this call. */
function parseCredential(v: unknown): CredentialNarrowing | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('credential must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'scope' && k !== 'resource') throw bad(`credential: unknown key ${k}`);
  const scope = optionalString(o, 'scope');
  const resource = optionalString(o, 'resource');
  if (scope === undefined && resource === undefined) return undefined;
  return { ...(scope !== undefined && { scope }), ...(resource !== undefined && { resource }) };
}

/** Parse the raw result set of `opa-wasm` `evaluate()` into a Decision. */
export function parseDecision(resultSet: unknown): Decision {
  if (!Array.isArray(resultSet) || resultSet.length !== 1) throw bad(`expected one result, got ${Array.isArray(resultSet) ? resultSet.length : typeof resultSet}`);
  const first = resultSet[0] as { result?: unknown } | undefined;
  const r = first?.result;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('decision must be an object (is the entrypoint undefined for this input?)');
  const obj = r as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!KEYS.has(k)) throw bad(`unknown key ${k}`);
  const reason = optionalString(obj, 'reason');
  const lane = optionalString(obj, 'lane');
  const risk = optionalString(obj, 'risk');
  const headers: Record<string, string> = {};
  if (obj.headers !== undefined && obj.headers !== null) {
    if (typeof obj.headers !== 'object' || Array.isArray(obj.headers)) throw bad('headers must be an object');
    for (const [name, value] of Object.entries(obj.headers as Record<string, unknown>)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(lower) || FORBIDDEN_HEADERS.has(lower)) throw bad(`header ${JSON.stringify(name)} may not be set by a policy`);
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw bad(`header ${lower} must be a single-line string`);
      headers[lower] = value;
    }
  }
  let approvers: string[] = [];
  if (obj.approvers !== undefined && obj.approvers !== null) {
    if (!Array.isArray(obj.approvers) || !obj.approvers.every((a) => typeof a === 'string')) throw bad('approvers must be a list of strings');
    approvers = obj.approvers as string[];
  }
  const credential = parseCredential(obj.credential);
  const base = { ...(reason !== undefined && { reason }), ...(risk !== undefined && { risk }), headers };
  switch (obj.decision) {
    case 'allow':
      return { decision: 'allow', ...base, ...(lane !== undefined && { lane }), ...(credential !== undefined && { credential }) };
    case 'deny':
      return { decision: 'deny', ...base };
    case 'step_up':
      return { decision: 'step_up', ...base, approvers, ...(lane !== undefined && { lane }), ...(credential !== undefined && { credential }) };
    default:
      throw bad(`decision must be "allow", "deny" or "step_up", got ${JSON.stringify(obj.decision)}`);
  }
}
