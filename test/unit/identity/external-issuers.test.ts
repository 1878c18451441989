// External issuers: SPIFFE JWT-SVIDs and OIDC tokens verified against a JWKS served by a real
// HTTP server on 127.0.0.1, or read from a file.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../../../src/identity/authenticator.js';
import { TaskTokens } from '../../../src/identity/task-tokens.js';
import { openDatabase } from '../../../src/store/sqlite/database.js';
import { SqliteTaskStore } from '../../../src/store/sqlite/task-store.js';
import { until } from '../../helpers/wait.js';
import { makeConfig, tasksOf, tempDir } from './fixtures.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string, alg = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS endpoint whose key list the test changes; counts fetches. */
async function jwksServer(keys: Key[]): Promise<{ url: string; keys: Key[]; fetches: () => number }> {
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    fetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/jwks`, keys, fetches: () => fetches };
}

const ISS = 'https://spire.example.org';
/** The principal of a verified SVID: the agent only, never a task. */
const svidAgent = (id = 'spiffe://example.org/ns/agents/sa/coder') => ({ agent: { id, issuer: 'spire', claims: expect.objectContaining({ iss: ISS, sub: id }) } });

async function setup(issuer: Record<string, unknown>) {
  const dir = tempDir((f) => cleanups.push(f));
  const config = makeConfig(dir, { identity: { issuers: [{ name: 'spire', issuer: ISS, audiences: ['warden'], algorithms: ['ES256'], ...issuer }] } });
  const db = openDatabase(dir);
  cleanups.push(() => void db.close());
  const clock = { now: Date.now() };
  const warnings: string[] = [];
  const auth = await Authenticator.create(config, tasksOf(new SqliteTaskStore(db)), {
    tokens: await TaskTokens.create(config),
    now: () => clock.now,
    onWarning: (m) => warnings.push(m),
  });
  const sign = (key: Key, claims: JWTPayload = {}) => {
    const iat = Math.floor(clock.now / 1000);
    const base = { iss: ISS, aud: 'warden', sub: 'spiffe://example.org/ns/agents/sa/coder', iat, exp: iat + 300 };
    return new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  };
  const call = (t: string) => auth.authenticate({ authorization: `Bearer ${t}` });
  return { auth, clock, sign, call, warnings, dir };
}

describe('SPIFFE JWT-SVIDs from a JWKS URL', () => {
  it('accepts an SVID of the trust domain, with no task', async () => {
    const k1 = await makeKey('k1');
    const jwks = await jwksServer([k1]);
    const { call, sign } = await setup({ jwks_url: jwks.url, spiffe: true, trust_domain: 'example.org' });
    const p = await call(await sign(k1));
    expect(p).toEqual({ agent: { id: 'spiffe://example.org/ns/agents/sa/coder', issuer: 'spire', claims: expect.objectContaining({ iss: ISS }) } });
    expect(p.task).toBeUndefined();
  });

  it.each([
    [{ sub: 'spiffe://evil.example/ns/agents/sa/coder' }, 'trust domain'],
    [{ sub: 'agent-1' }, 'not a SPIFFE id'],
    [{ sub: 'spiffe://example.org' }, 'not a SPIFFE id'],
    [{ aud: 'another-service' }, 'claim aud'],
    [{ exp: undefined }, 'claim exp'],
  ])('refuses %j (%s)', async (claims, detail) => {
    const k1 = await makeKey('k1');
    const jwks = await jwksServer([k1]);
    const { call, sign } = await setup({ jwks_url: jwks.url, spiffe: true, trust_domain: 'example.org' });
    await expect(call(await sign(k1, claims))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining(detail) });
  });

  it('refuses a lifetime over max_lifetime, with or without iat', async () => {
    const k1 = await makeKey('k1');
    const jwks = await jwksServer([k1]);
    const { call, sign, clock } = await setup({ jwks_url: jwks.url, spiffe: true, max_lifetime: '5m' });
    const now = Math.floor(clock.now / 1000);
    await expect(call(await sign(k1, { exp: now + 301 }))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('lifetime') });
    await expect(call(await sign(k1, { iat: undefined, exp: now + 3600 }))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('lifetime') });
    await expect(call(await sign(k1, { iat: undefined, exp: now + 200 }))).resolves.toEqual(svidAgent());
  });

  it('refuses an expired SVID with TOKEN_EXPIRED', async () => {
    const k1 = await makeKey('k1');
    const jwks = await jwksServer([k1]);
    const { call, sign, clock } = await setup({ jwks_url: jwks.url, spiffe: true });
    const token = await sign(k1);
    clock.now += 400_000;
    await expect(call(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('fetches a rotated key on demand, at most once per second', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const jwks = await jwksServer([k1]);
    const { call, sign, clock } = await setup({ jwks_url: jwks.url, spiffe: true });
    expect(jwks.fetches()).toBe(1); // primed at start
    jwks.keys.push(k2);
    // Within the cooldown an unknown kid does not refetch.
    await expect(call(await sign(k2))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('kid') });
    expect(jwks.fetches()).toBe(1);
    clock.now += 1_500;
    await expect(call(await sign(k2))).resolves.toEqual(svidAgent());
    expect(jwks.fetches()).toBe(2);
    // A made-up kid right after: refused without another fetch.
    const ghost = await makeKey('ghost');
    await expect(call(await sign(ghost))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    expect(jwks.fetches()).toBe(2);
    await expect(call(await sign(k1))).resolves.toEqual(svidAgent());
  });

  it('refuses a key dropped from the set once the cache expires', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const jwks = await jwksServer([k1, k2]);
    const { call, sign, clock } = await setup({ jwks_url: jwks.url, spiffe: true, jwks_cache: '1m' });
    await expect(call(await sign(k1))).resolves.toEqual(svidAgent());
    jwks.keys.splice(0, 1);
    clock.now += 61_000;
    // The stale set serves this request while the refresh runs in the background.
    await expect(call(await sign(k2))).resolves.toEqual(svidAgent());
    await until(() => jwks.fetches() === 2);
    await expect(call(await sign(k1))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('answers JWKS_UNAVAILABLE when the key set was never fetched', async () => {
    const jwks = await jwksServer([]);
    const dead = jwks.url.replace(/:\d+\//, ':9/');
    const k1 = await makeKey('k1');
    const { call, sign, warnings } = await setup({ jwks_url: dead, spiffe: true });
    expect(warnings).toHaveLength(1);
    await expect(call(await sign(k1))).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE' });
  });
});

describe('OIDC issuer from a JWKS file', () => {
  it('takes the agent id from agent_claim and re-reads a changed file', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const dir = tempDir((f) => cleanups.push(f));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [k1.jwk] }));
    const { call, sign, clock } = await setup({ jwks_file: file, agent_claim: 'client_id' });
    await expect(call(await sign(k1, { sub: 'svc', client_id: 'coder-bot' }))).resolves.toMatchObject({ agent: { id: 'coder-bot', issuer: 'spire' } });
    await expect(call(await sign(k1, { sub: 'svc' }))).rejects.toMatchObject({ code: 'TOKEN_INVALID', detail: expect.stringContaining('client_id') });
    writeFileSync(file, JSON.stringify({ keys: [k2.jwk] }));
    clock.now += 1_500;
    await expect(call(await sign(k2, { client_id: 'coder-bot' }))).resolves.toEqual({ agent: { id: 'coder-bot', issuer: 'spire', claims: expect.objectContaining({ client_id: 'coder-bot' }) } });
    await expect(call(await sign(k1, { client_id: 'coder-bot' }))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('refuses to start with a missing file', async () => {
    const dir = tempDir((f) => cleanups.push(f));
    await expect(setup({ jwks_file: join(dir, 'absent.json') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
