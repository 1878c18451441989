// Key sets of external issuers, on their own: a real JWKS endpoint on port 0 whose answers the
// test controls (held, failing, oversized), real keys from jose, a real file, and an injected
// clock instead of sleeping through the cache, the refetch cooldown or the file's stat interval.
// The Authenticator's use of them is in external-issuers.test.ts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { FileJwks, RemoteJwks, type JwksSource } from '../../../src/identity/jwks.js';
import { makeSigningKey, signJwt, type SigningKey } from '../../helpers/jwks-server.js';
import { listen } from '../../helpers/listen.js';
import { until } from '../../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Reply = { status: number; body: string } | 'hold';

interface Endpoint {
  url: string;
  /** Headers of every request so far. */
  requests: IncomingHttpHeaders[];
  /** What the next requests get (a key set by default). */
  reply: (keys: SigningKey[]) => Reply;
  keys: SigningKey[];
  /** Answers every held request with the current key set. */
  release(): void;
}

async function endpoint(keys: SigningKey[]): Promise<Endpoint> {
  const held: (() => void)[] = [];
  const ep: Endpoint = {
    url: '',
    requests: [],
    keys,
    reply: (ks) => ({ status: 200, body: JSON.stringify({ keys: ks.map((k) => k.jwk) }) }),
    release: () => held.splice(0).forEach((r) => r()),
  };
  const server: Server = createServer((req, res) => {
    ep.requests.push(req.headers);
    const r = ep.reply(ep.keys);
    const send = (x: { status: number; body: string }) => res.writeHead(x.status, { 'content-type': 'application/json' }).end(x.body);
    if (r === 'hold') held.push(() => send({ status: 200, body: JSON.stringify({ keys: ep.keys.map((k) => k.jwk) }) }));
    else send(r);
  });
  const listening = await listen(server);
  cleanups.push(listening.close);
  ep.url = `${listening.url}/jwks`;
  return ep;
}

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The `kid` the source found for a token of `key`, or the error it refused with. */
async function verifyWith(source: JwksSource, key: SigningKey): Promise<string> {
  const { protectedHeader } = await jwtVerify(await signJwt(key, { sub: 's' }), source.getKey);
  return protectedHeader.kid!;
}

describe('RemoteJwks', () => {
  it('asks for a JWK set, and loads it once for requests that arrive together before it is loaded', async () => {
    const k1 = await makeSigningKey('k1');
    const ep = await endpoint([k1]);
    ep.reply = () => 'hold';
    const source = new RemoteJwks(ep.url, { cacheMs: 60_000, now: clock().now });
    const together = Promise.all(Array.from({ length: 5 }, () => verifyWith(source, k1)));
    await until(() => ep.requests.length === 1);
    ep.release();
    expect(await together).toEqual(['k1', 'k1', 'k1', 'k1', 'k1']);
    expect(ep.requests).toHaveLength(1);
    expect(ep.requests[0]!.accept).toBe('application/jwk-set+json, application/json');
  });

  it('serves a stale set while the refresh is still unanswered, then the refreshed one', async () => {
    const k1 = await makeSigningKey('k1');
    const k2 = await makeSigningKey('k2');
    const ep = await endpoint([k1]);
    const c = clock();
    const source = new RemoteJwks(ep.url, { cacheMs: 60_000, now: c.now });
    await source.prime();
    ep.keys = [k2];
    ep.reply = () => 'hold';
    c.advance(60_000);
    // The refresh is held by the issuer: this verification does not wait for it.
    expect(await verifyWith(source, k1)).toBe('k1');
    await until(() => ep.requests.length === 2);
    ep.release();
    // k2 is found in the refreshed set once it lands; k1 is gone from it.
    await until(async () => (await verifyWith(source, k2).catch(() => '')) === 'k2');
    await expect(verifyWith(source, k1)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('keeps the loaded set when a refresh fails, and loads again after the cooldown once the issuer is back', async () => {
    const k1 = await makeSigningKey('k1');
    const k2 = await makeSigningKey('k2');
    const ep = await endpoint([k1]);
    const c = clock();
    const source = new RemoteJwks(ep.url, { cacheMs: 10_000, cooldownMs: 5_000, now: c.now });
    await source.prime();
    ep.reply = () => ({ status: 500, body: 'down' });
    c.advance(10_000);
    expect(await verifyWith(source, k1)).toBe('k1');
    await until(() => ep.requests.length === 2);
    // An unknown kid within the cooldown: no fetch, the kid is just unknown.
    ep.keys = [k1, k2];
    await expect(verifyWith(source, k2)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(ep.requests).toHaveLength(2);
    expect(await verifyWith(source, k1)).toBe('k1');
    ep.reply = (ks) => ({ status: 200, body: JSON.stringify({ keys: ks.map((k) => k.jwk) }) });
    c.advance(5_000);
    expect(await verifyWith(source, k2)).toBe('k2');
    expect(ep.requests).toHaveLength(3);
  });

  it.each([
    ['a non-200 answer', { status: 404, body: '{"keys":[]}' }, 'HTTP 404'],
    ['a set over 1 MiB', { status: 200, body: `{"keys":[],"pad":"${'x'.repeat(1 << 20)}"}` }, 'key set larger than 1 MiB'],
    ['a body that is not JSON', { status: 200, body: '<html>' }, 'is not valid JSON'],
  ])('prime() refuses %s with JWKS_UNAVAILABLE naming the URL', async (_what, reply, detail) => {
    const ep = await endpoint([]);
    ep.reply = () => reply;
    const source = new RemoteJwks(ep.url, { cacheMs: 60_000 });
    await expect(source.prime()).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', status: 401, detail: expect.stringMatching(new RegExp(`^jwks_url ${ep.url}: .*${detail}`)) });
  });

  it('prime() gives up on an issuer that does not answer within timeoutMs', async () => {
    const ep = await endpoint([]);
    // The issuer never answers: the timeout running out is the behaviour under test.
    ep.reply = () => 'hold';
    const source = new RemoteJwks(ep.url, { cacheMs: 60_000, timeoutMs: 100 });
    await expect(source.prime()).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', detail: expect.stringContaining(`jwks_url ${ep.url}: `) });
  });

  it('with no set ever loaded, refuses with JWKS_UNAVAILABLE and tries again only after the cooldown', async () => {
    const k1 = await makeSigningKey('k1');
    const ep = await endpoint([k1]);
    ep.reply = () => ({ status: 503, body: '' });
    const c = clock();
    const source = new RemoteJwks(ep.url, { cacheMs: 60_000, cooldownMs: 1_000, now: c.now });
    await expect(verifyWith(source, k1)).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', detail: `jwks_url ${ep.url}: HTTP 503` });
    await expect(verifyWith(source, k1)).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', detail: `jwks_url ${ep.url}: no key set loaded` });
    expect(ep.requests).toHaveLength(1);
    ep.reply = (ks) => ({ status: 200, body: JSON.stringify({ keys: ks.map((k) => k.jwk) }) });
    c.advance(1_000);
    expect(await verifyWith(source, k1)).toBe('k1');
    expect(ep.requests).toHaveLength(2);
  });
});

describe('FileJwks', () => {
  function jwksFile(keys: SigningKey[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    return file;
  }

  it('picks up a changed file a second after the last look and load, not before', async () => {
    const k1 = await makeSigningKey('k1');
    const k2 = await makeSigningKey('k2');
    const file = jwksFile([k1]);
    const c = clock();
    const source = new FileJwks(file, { now: c.now, cooldownMs: 1_000 });
    await source.prime();
    expect(await verifyWith(source, k1)).toBe('k1');
    writeFileSync(file, JSON.stringify({ keys: [k2.jwk] }));
    c.advance(999);
    // Not looked at yet, and an unknown kid inside the cooldown since the last load does not read it either.
    expect(await verifyWith(source, k1)).toBe('k1');
    await expect(verifyWith(source, k2)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    c.advance(1);
    // The stat sees the change; the reload runs behind this request, which the old set answers.
    expect(await verifyWith(source, k1)).toBe('k1');
    await until(async () => (await verifyWith(source, k2).catch(() => '')) === 'k2');
    await expect(verifyWith(source, k1)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('keeps the loaded set while the file is missing or unreadable', async () => {
    const k1 = await makeSigningKey('k1');
    const file = jwksFile([k1]);
    const c = clock();
    const source = new FileJwks(file, { now: c.now });
    await source.prime();
    rmSync(file);
    c.advance(1_000);
    expect(await verifyWith(source, k1)).toBe('k1');
    writeFileSync(file, '{"keys": [');
    c.advance(1_000);
    expect(await verifyWith(source, k1)).toBe('k1');
    c.advance(1_000);
    expect(await verifyWith(source, k1)).toBe('k1');
  });

  it('prime() refuses a missing or malformed file with JWKS_UNAVAILABLE naming it', async () => {
    const file = jwksFile([]);
    writeFileSync(file, 'not json');
    await expect(new FileJwks(file).prime()).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', detail: expect.stringMatching(new RegExp(`^jwks_file ${file}: .*JSON`)) });
    await expect(new FileJwks(`${file}.absent`).prime()).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE', detail: expect.stringMatching(new RegExp(`^jwks_file ${file}.absent: .*ENOENT`)) });
  });
});
