// The differential fuzz test of issue 10. Generated requests across every parser-differential
// class (JSON under any label, ambiguous JSON, lenient-only JSON, overrides, forms, multipart,
// charsets, Connection, non-ASCII header values, path forms, deep nesting, header floods, malformed
// framing) go to a Warden child process over raw sockets. For every request: exactly one
// decision-log line, whose id the answer carries; for every forwarded one: the input the policy
// evaluated (from the decision log) equals what the recording upstream received — method, path,
// query, headers, body digest, parsed body or form, MCP call — and a lenient upstream's reading.
// Warden stays up and its memory flat.
//
// Seedable and bounded: FUZZ_SEED (default 20261202) and FUZZ_COUNT (default 600) pick the
// requests; the seed is in every failure message. A few seconds on CI.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRig, type Rig } from '../helpers/differential.js';
import { rawSocket } from '../helpers/raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const COUNT = Number(process.env.FUZZ_COUNT ?? 600);
const CONCURRENCY = 8;

/** mulberry32: a small seedable generator. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;

const SEGMENTS = ['repos', 'acme', 'items', 'mcp', 'v1.json', '..', '.', '%2e%2e', '%2E', '%252e%252e', '..;', 'a;b=1', '%3b', '%c0%ae', '%ef%bc%8e%ef%bc%8e', '%ef%bc%8f', 'admin.', 'x%20', '%41dmin', '%C3%A9t%C3%A9', '%e2%80%a4', '~user', '%2f', 'a%zz', '', '%00', '...', 'x@y:z', "!$&'()*+,="];
const QUERY = ['a=1', 'a=2', '_method=DELETE', 'b=%20x', 'c=a;d=2', 'e', 'f=%ff', 'g=%C3%A9', 'h=a+b', '%5fmethod=PUT', 'i=%26j%3D1'];
const TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'text/json', 'application/x-json', undefined, '*/*', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/json; charset=iso-8859-1', 'application/vnd.api+json', 'application/json garbage', 'application/octet-stream', 'APPLICATION/JSON'];
const TOOLS = ['search', 'read_file', 'delete_repo', 'create_issue', 'drop_table'];

function jsonValue(r: Rand, depth: number): unknown {
  const k = r();
  if (depth > 3 || k < 0.35) return pick(r, [1, 0, -1, 2.5, 1e21, 'x', 'é', '\u{1F600}', true, false, null, 'delete', 9007199254740991, 0.1]);
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => jsonValue(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [pick(r, ['action', 'id', 'name', 'é', 'a b', `k${i}`]) + i, jsonValue(r, depth + 1)]));
}

function rpc(r: Rand): string {
  return JSON.stringify({ jsonrpc: '2.0', id: Math.floor(r() * 1000), method: pick(r, ['tools/call', 'tools/call', 'tools/list', 'initialize']), params: { name: pick(r, TOOLS), arguments: jsonValue(r, 1) } });
}

/** A body from one of the classes; bytes exactly as sent. */
function body(r: Rand): Buffer {
  const base = chance(r, 0.4) ? rpc(r) : JSON.stringify({ action: pick(r, ['read', 'delete', 'write']), data: jsonValue(r, 0) });
  switch (pick(r, ['json', 'json', 'json', 'dup', 'bigint', 'overflow', 'negzero', 'surrogate', 'badutf8', 'bom', 'utf16', 'trailing', 'concat', 'nan', 'deep', 'form', 'form', 'badform', 'text', 'empty', 'scalar', 'controlchar'] as const)) {
    case 'json':
      return Buffer.from(base);
    case 'dup':
      return Buffer.from(base.replace(/^\{/, '{"action":"delete",'));
    case 'bigint':
      return Buffer.from(base.replace(/^\{/, '{"n":9007199254740993,'));
    case 'overflow':
      return Buffer.from(base.replace(/^\{/, '{"n":1e999,'));
    case 'negzero':
      return Buffer.from(base.replace(/^\{/, '{"n":-0,'));
    case 'surrogate':
      return Buffer.from(base.replace(/^\{/, '{"s":"\\ud800",'));
    case 'badutf8':
      return Buffer.concat([Buffer.from('{"s":"'), Buffer.from([0xc3, 0x28]), Buffer.from(`",${base.slice(1)}`)]);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(base)]);
    case 'utf16':
      return Buffer.from(base, 'utf16le');
    case 'trailing':
      return Buffer.from(`${base} x`);
    case 'concat':
      return Buffer.from(base + base);
    case 'nan':
      return Buffer.from(base.replace(/^\{/, '{"n":NaN,'));
    case 'deep':
      return Buffer.from('['.repeat(60 + Math.floor(r() * 20)) + ']'.repeat(60 + Math.floor(r() * 20)));
    case 'form':
      return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 3) }, () => `${pick(r, ['action', 'id', 'x', '_method', 'a+b', '%C3%A9'])}=${pick(r, ['read', 'delete', '1', '%20', 'a+b', '%E2%82%AC'])}`).join('&'));
    case 'badform':
      return Buffer.from(pick(r, ['action=read;action=delete', 'a=%zz', 'a=%c0%ae', 'a=%ff']));
    case 'text':
      return Buffer.from(pick(r, ['hello', '[link](x)', '{ not json', 'a=1&b=2', '<xml/>']));
    case 'empty':
      return Buffer.alloc(0);
    case 'scalar':
      return Buffer.from(pick(r, ['123', '"s"', 'true', 'null']));
    case 'controlchar':
      return Buffer.from('{"a":"x\ty"}');
  }
}

/** One request as literal bytes. */
function request(r: Rand, token: string): Buffer {
  const up = chance(r, 0.5) ? '/tools' : '/api';
  const path = Array.from({ length: 1 + Math.floor(r() * 3) }, () => (chance(r, 0.6) ? pick(r, ['repos', 'acme', 'items', 'mcp', 'x']) : pick(r, SEGMENTS))).join('/');
  const query = chance(r, 0.4) ? `?${Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, QUERY)).join('&')}` : '';
  const method = pick(r, ['GET', 'POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'PROPFIND']);
  const b = method === 'GET' && chance(r, 0.7) ? Buffer.alloc(0) : body(r);
  const lines: string[] = [`${method} ${up}/${path}${query} HTTP/1.1`, 'Host: warden'];
  if (!chance(r, 0.03)) lines.push(`Authorization: Bearer ${chance(r, 0.02) ? '' : token}`);
  // Form-like bodies mostly go out as forms, so that the form classes are exercised.
  const formLike = b.length > 0 && b.includes('=') && b[0] !== 0x7b && b[0] !== 0x5b;
  const type = formLike && chance(r, 0.8) ? pick(r, ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8']) : pick(r, TYPES);
  if (type !== undefined && b.length > 0) lines.push(`Content-Type: ${type}`);
  if (chance(r, 0.05)) lines.push(`${pick(r, ['X-HTTP-Method-Override', 'X-Original-URL', 'X-HTTP-Method'])}: DELETE`);
  if (chance(r, 0.08)) lines.push('X-Tenant: acme');
  if (chance(r, 0.03)) lines.push(Buffer.from('X-Title: café', 'utf8').toString('latin1'));
  lines.push(`Connection: close${chance(r, 0.05) ? ', x-tenant' : ''}${chance(r, 0.05) ? ', content-type' : ''}`);
  if (chance(r, 0.03)) lines.push('Content-Encoding: gzip');
  if (chance(r, 0.02)) lines.push('Expect: 202-accepted');
  if (chance(r, 0.05)) for (let i = 0; i < 60 + Math.floor(r() * 80); i++) lines.push(`X-Flood-${i}: ${'v'.repeat(Math.floor(r() * 40))}`);
  if (chance(r, 0.05)) lines.push('User-Agent: one', 'User-Agent: two', 'Accept: a', 'Accept: b');
  const framing = r();
  if (framing < 0.03) lines.push(`Content-Length: ${b.length}`, 'Transfer-Encoding: chunked');
  else if (framing < 0.05) lines.push(`Content-Length: ${b.length}`, `Content-Length: ${b.length + 1}`);
  else if (framing < 0.07) lines.push('Bad Header: x');
  else if (framing < 0.25 && b.length > 0) {
    lines.push('Transfer-Encoding: chunked');
    const half = Math.floor(b.length / 2);
    const chunk = (c: Buffer) => (c.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), chunk(b.subarray(0, half)), chunk(b.subarray(half)), Buffer.from('0\r\n\r\n')]);
  } else if (b.length > 0 || method !== 'GET') lines.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), b]);
}

interface Exchange {
  n: number;
  sent: Buffer;
  status: number;
  id: string | undefined;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const formOf = (raw: Buffer) => {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) (out[k] ??= []).push(v);
  return out;
};

// Models of how a lenient upstream stack reads what it received. Each must agree with the
// policy's input; they disagree exactly where a defence of issue 10 is missing.

/** The path as Tomcat/Jetty/IIS-style stacks resolve it: `;` parameters dropped, escapes decoded, compatibility forms folded, trailing dots and spaces dropped, dot segments resolved. */
function lenientPath(path: string): string {
  const out: string[] = [];
  for (const raw of path.split('/')) {
    let seg = raw.split(';', 1)[0]!;
    try {
      seg = decodeURIComponent(decodeURIComponent(seg));
    } catch {
      seg = unescape(seg);
    }
    seg = seg.normalize('NFKC').replace(/[. ]+$/, (m) => (seg === m && m.length <= 2 ? m : ''));
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(...seg.split(/[/\\]/));
  }
  return `/${out.join('/')}`;
}

/** The path as the policy reads `input.request.path`: each segment decoded once. */
function policyPath(path: string): string {
  return `/${path.split('/').filter(Boolean).map((s) => decodeURIComponent(s)).join('/')}`;
}

/** What a lenient JSON decoder reads from a body: BOM stripped, UTF-16 decoded, NaN as null, the first value of several. */
function lenientJson(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (raw[0] === 0xff && raw[1] === 0xfe) text = raw.subarray(2).toString('utf16le');
  else if (raw.length > 1 && raw[1] === 0) text = raw.toString('utf16le');
  text = text.replace(/^\uFEFF/, '').replace(/\bNaN\b/g, 'null');
  for (let end = text.length; end > 0; end--) {
    try {
      return JSON.parse(text.slice(0, end));
    } catch {
      // a shorter prefix, as a streaming decoder stops after the first value
    }
  }
  return undefined;
}

/** A form as older parsers read it: `;` separates fields too, a bad escape is kept as it is. */
function lenientForm(raw: Buffer): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const dec = (x: string) => {
    try {
      return decodeURIComponent(x.replace(/\+/g, ' '));
    } catch {
      return unescape(x.replace(/\+/g, ' '));
    }
  };
  for (const pair of raw.toString('utf8').split(/[&;]/)) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    (out[dec(i < 0 ? pair : pair.slice(0, i))] ??= []).push(i < 0 ? '' : dec(pair.slice(i + 1)));
  }
  return out;
}

/** Headers Warden itself sets on the way out (the agent's never pass: `warden-*` are dropped). */
const WARDEN_SET = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'warden-decision-id']);

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ warden: { child: true } });
}, 60_000);
afterAll(() => rig?.close());

describe(`differential fuzz (FUZZ_SEED=${SEED}, FUZZ_COUNT=${COUNT})`, () => {
  it('logs every request once and shows the policy exactly what every forwarded request carried', async () => {
    const r = rng(SEED);
    const requests = Array.from({ length: COUNT }, () => request(r, rig.token));
    const pid = rig.w.child!.pid!;
    const exchanges: Exchange[] = [];
    let rssAfterWarmup = 0;
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const n = next++;
        const out = await rawSocket(rig.w.proxyUrl, requests[n]!, 5_000);
        const head = out.slice(0, out.indexOf('\r\n\r\n'));
        exchanges.push({ n, sent: requests[n]!, status: Number(head.split(' ')[1]), id: /\r\nwarden-decision-id: ([0-9a-f-]+)/i.exec(head)?.[1] });
        if (exchanges.length === 100) rssAfterWarmup = rssBytes(pid);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const tag = (e: Exchange) => `FUZZ_SEED=${SEED} request #${e.n}: ${JSON.stringify(e.sent.toString('latin1').replace(rig.token, '<token>').slice(0, 400))}`;
    for (const e of exchanges) {
      expect(Number.isInteger(e.status) && e.status >= 200, `no answer: ${tag(e)}`).toBe(true);
      expect(e.id, `answer without a decision id: ${tag(e)}`).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }

    // Every request has exactly one decision line.
    let lines: Record<string, any>[] = [];
    for (let i = 0; i < 100; i++) {
      lines = (await rig.w.decisions()) as Record<string, any>[];
      if (lines.length >= COUNT) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const byId = new Map<string, Record<string, any>[]>();
    for (const l of lines) byId.set(l.decision_id, [...(byId.get(l.decision_id) ?? []), l]);
    expect(lines.length, `FUZZ_SEED=${SEED}: decision lines vs requests`).toBe(COUNT);
    for (const e of exchanges) expect(byId.get(e.id!)?.length, `lines for ${tag(e)}`).toBe(1);

    // Every forwarded request: the policy's input equals what the upstream received.
    const seen = new Map([...rig.api.seen, ...rig.tools.seen].map((s) => [String(s.headers['warden-decision-id']), s]));
    let forwarded = 0;
    for (const e of exchanges) {
      const line = byId.get(e.id!)![0]!;
      const got = seen.get(e.id!);
      if (line.outcome !== 'allow') {
        expect(got, `forwarded without an allow: ${tag(e)}`).toBeUndefined();
        continue;
      }
      expect(got, `allowed but not received: ${tag(e)}`).toBeDefined();
      forwarded++;
      const req = line.input.request;
      const u = new URL(got!.url, 'http://x');
      expect({ method: got!.method, path: u.pathname, query: formOf(Buffer.from(u.search.slice(1))) }, tag(e)).toEqual({ method: req.method, path: req.path, query: req.query });
      const theirs = Object.fromEntries(Object.entries(got!.headers).filter(([k]) => !WARDEN_SET.has(k)).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
      expect(theirs, tag(e)).toEqual(req.headers);
      expect(`sha256:${createHash('sha256').update(got!.raw).digest('hex')}`, tag(e)).toBe(req.body_digest);
      expect(got!.headers['content-type'], tag(e)).toBe(req.content_type);
      if (req.body !== null) expect(JSON.parse(got!.raw.toString('utf8')), tag(e)).toEqual(req.body);
      if (req.form) expect(formOf(got!.raw), tag(e)).toEqual(req.form);
      // The upstream's lenient readings agree with the policy's.
      expect(lenientPath(u.pathname), tag(e)).toBe(policyPath(req.path));
      const lenient = lenientJson(got!.raw);
      if (typeof lenient === 'object' && lenient !== null) expect(req.body, `body the policy did not see: ${tag(e)}`).toEqual(lenient);
      if (req.form) expect(lenientForm(got!.raw), tag(e)).toEqual(req.form);
      for (const h of ['x-http-method-override', 'x-http-method', 'x-original-url']) expect(got!.headers[h], `override forwarded: ${tag(e)}`).toBeUndefined();
      expect(u.searchParams.has('_method'), `_method forwarded: ${tag(e)}`).toBe(false);
      if (got!.raw.length > 0 && req.content_type === undefined) expect(got!.headers['content-type'], tag(e)).toBeUndefined();
      if (line.input.mcp) {
        const call = JSON.parse(got!.raw.toString('utf8'));
        expect({ method: line.input.mcp.method, tool: line.input.mcp.tool }, tag(e)).toEqual({ method: call.method, tool: call.method === 'tools/call' ? call.params?.name : undefined });
      }
    }
    expect(forwarded, `FUZZ_SEED=${SEED}: some requests must be forwarded`).toBeGreaterThan(COUNT / 20);

    // Warden is up and its memory flat.
    expect(rig.w.child!.exitCode).toBeNull();
    expect((await fetch(`${rig.w.adminUrl}/health`)).status).toBe(200);
    const growth = rssBytes(pid) - rssAfterWarmup;
    expect(growth, `FUZZ_SEED=${SEED}: RSS grew ${Math.round(growth / 1e6)} MB`).toBeLessThan(64 * 1024 * 1024);
  }, 110_000);
});
