// Path safety: the policy sees exactly the path the upstream receives. The path after the
// upstream prefix is normalized once — percent-escapes of unreserved characters decoded (so
// `%2e%2e` is `..`), other escapes upper-cased, duplicate slashes merged, dot segments resolved —
// and that form is both the policy's `input.request.path` and what is forwarded. Encoded
// slashes, backslashes, NUL and a `..` that climbs out of the prefix are refused, as Envoy's
// `path_with_escaped_slashes_action: REJECT_REQUEST` does.
// Forms that some upstream stack reads as another path are refused too (issue 10): `;` path
// parameters (Tomcat and Jetty strip them before resolving dot segments, so `..;/` climbs),
// double encoding (`%252e` is `.` to a server that decodes twice), escapes that are not UTF-8
// (overlong `%c0%ae` is `.` to a lax decoder), characters whose compatibility form is a dot or a
// slash (fullwidth `%ef%bc%8e`, one-dot leader), and a segment ending in a dot or a space
// (Windows and IIS drop them, so `admin.` is `admin`). `upstreams.<name>.path_parameters`
// forwards `;` parameters for an upstream that uses them, but never on a dot or empty segment.

import { WardenError } from '../errors.js';

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PCT = /%([0-9A-Fa-f]{2})/g;
// pchar of RFC 3986 plus '%' (checked separately); anything else in a raw path is refused.
const ALLOWED_RAW = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

function refuse(why: string): WardenError {
  return new WardenError('PATH_INVALID', why);
}

function normalizeSegment(seg: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(seg)) throw refuse('malformed percent-escape');
  if (/%25[0-9A-Fa-f]{2}/.test(seg)) throw refuse('double percent-encoding');
  return seg.replace(PCT, (_m, hex: string) => {
    const code = parseInt(hex, 16);
    const ch = String.fromCharCode(code);
    if (code === 0x2f || code === 0x5c) throw refuse('encoded slash or backslash');
    if (code < 0x20 || code === 0x7f) throw refuse('encoded control character');
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

/** What an upstream stack might read in a normalized segment that is not a dot segment. */
function checkReading(seg: string, pathParameters: boolean): void {
  const base = pathParameters ? seg.split(';', 1)[0]! : seg;
  let decoded = base;
  if (base.includes('%')) {
    try {
      decoded = decodeURIComponent(base);
    } catch {
      throw refuse('percent-escapes that are not UTF-8');
    }
    const compat = decoded.normalize('NFKC');
    if (/[/\\]/.test(compat) || compat === '.' || compat === '..') throw refuse('character whose compatibility form is a dot or a slash');
    decoded = compat;
  }
  if (base !== seg && (decoded === '' || decoded === '.' || decoded === '..')) throw refuse('path parameter on a dot or empty segment');
  if (/[.\s]$/.test(decoded)) throw refuse('segment ending in a dot or a space');
}

export interface PathOptions {
  /** Forward `;` path parameters (`upstreams.<name>.path_parameters`). */
  readonly pathParameters?: boolean;
}

/**
 * Normalize the part of a path after the upstream prefix (it starts with `/` or is empty).
 * Returns the normalized path, always starting with `/`.
 */
export function normalizeRest(rest: string, opts: PathOptions = {}): string {
  // Most paths are already in normal form: non-empty segments of plain characters, no `%`, `.`
  // or `;` (so no escape, dot segment, parameter or trailing dot). Those are their own normal form.
  if (PLAIN_PATH.test(rest)) return rest;
  return normalizeFully(rest, opts);
}

/** Segments with nothing to normalize or refuse, and an optional trailing slash. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,=:@]+)+\/?$/;

/** normalizeRest without its shortcut for paths already in normal form (exported for its test). */
export function normalizeFully(rest: string, opts: PathOptions = {}): string {
  if (!ALLOWED_RAW.test(rest)) throw refuse('character not allowed in a path');
  const pathParameters = opts.pathParameters === true;
  if (!pathParameters && /;|%3b/i.test(rest)) throw refuse('path parameter (;)');
  const out: string[] = [];
  const parts = rest.split('/');
  const trailingSlash = rest.length > 1 && rest.endsWith('/');
  for (const raw of parts) {
    if (raw === '') continue;
    const seg = normalizeSegment(raw);
    if (seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw refuse('path climbs out of its upstream prefix');
      out.pop();
      continue;
    }
    checkReading(seg, pathParameters);
    out.push(seg);
  }
  const joined = `/${out.join('/')}`;
  return trailingSlash && out.length > 0 ? `${joined}/` : joined;
}

/** Split a request target into its raw path and raw query (without `?`). */
export function splitTarget(url: string): { rawPath: string; rawQuery: string } {
  if (!url.startsWith('/')) throw refuse('request target must be an origin-form path');
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (hash !== -1) throw refuse('fragment in request target');
  return q === -1 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

/** Parse a query into `{k: [v]}` and its canonical serialization, which is what is forwarded. */
export function parseQuery(rawQuery: string): { query: Record<string, string[]>; search: string } {
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  if (rawQuery === '') return { query, search: '' };
  const params = new URLSearchParams(rawQuery);
  for (const [k, v] of params) (query[k] ??= []).push(v);
  const search = params.toString();
  return { query, search: search ? `?${search}` : '' };
}
