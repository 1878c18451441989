// Identity options end to end, each on its own running Warden with a real upstream:
// ES256 task tokens, an issuer whose JWKS is a file (rotated by rewriting it), a custom identity
// header carrying the bare token, and a JWKS URL that is unreachable when Warden starts.

import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningKey, signJwt, type SigningKey } from '../helpers/jwks-server.js';
import { bearerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { sendThrough } from '../helpers/send.js';
import { closeAll } from '../helpers/proxy-pair.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testClock } from '../helpers/wait.js';
import { startWarden, tempDir, type WardenHandle } from '../helpers/warden.js';

/** Warden's identity clock: moved past the JWKS refetch cooldown instead of sleeping through it. */
const clock = testClock();

process.env.TEST_IDOPT_READ = 'idopt-read-secret';
process.env.TEST_IDOPT_WRITE = 'idopt-write-secret';
process.env.TEST_IDOPT_ESC = 'idopt-escalation-secret';

const lanes = bearerLanes({ read: 'TEST_IDOPT_READ', write: 'TEST_IDOPT_WRITE', escalation: 'TEST_IDOPT_ESC' });

/** Allows any verified agent (no task needed) on the read lane. */
const AGENT_POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no agent", "headers": {}}

decision := {"decision": "allow", "reason": "verified agent", "lane": "read", "headers": {"x-agent": input.agent.id}} if {
	is_string(input.agent.id)
	input.agent.id != ""
}
`;


/** A request through Warden, with its answer read and the upstream's request count before it. */
function send(w: WardenHandle, up: TestUpstream, path: string, headers: Record<string, string>) {
  return sendThrough(w, up, path, { headers });
}

// ------------------------------------------------------------------------------------------------
describe('ES256 task tokens (identity.task_tokens.algorithm: ES256)', () => {
  let up: TestUpstream;
  let w: WardenHandle;
  beforeAll(async () => {
    up = await startUpstream();
    w = await startWarden({
      upstreams: { github: { prefix: '/github', url: up.url, lanes } },
      config: { identity: { task_tokens: { algorithm: 'ES256' } } },
    });
  });
  afterAll(() => closeAll(w, up));

  const get = (token: string) => send(w, up, '/github/repos/acme/app', { authorization: `Bearer ${token}` });

  it('a created task token is signed ES256 with the generated P-256 key, and passes', async () => {
    const t = await w.task();
    const header = decodeProtectedHeader(t.token);
    expect(header.alg).toBe('ES256');
    expect(typeof header.kid).toBe('string');
    // The key generated in state_dir is a P-256 key, and the token verifies with it.
    const pem = readFileSync(join(w.dir, 'state', 'task-signing-key.pem'), 'utf8');
    const pub = createPublicKey(pem);
    expect(pub.asymmetricKeyType).toBe('ec');
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const { payload } = await jwtVerify(t.token, pub, { algorithms: ['ES256'] });
    expect(payload.tid).toBe(t.task_id);

    const r = await get(t.token);
    expect(r.status, r.text).toBe(200);
    expect(r.forwarded).toBe(1);
    expect(up.seen.at(-1)!.headers.authorization).toBe('Bearer idopt-read-secret');
    const line = await w.decisionFor(r.id);
    expect(line).toMatchObject({ outcome: 'allow', lane: 'read', task: t.task_id, agent: 'agent-1' });
  });

  it('the same claims re-signed with EdDSA (same kid), or with another P-256 key, are refused 401', async () => {
    const t = await w.task();
    const { kid } = decodeProtectedHeader(t.token);
    const payload = JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString('utf8'));

    const ed = await generateKeyPair('EdDSA');
    const edToken = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: kid!, typ: 'JWT' }).sign(ed.privateKey);
    const r1 = await get(edToken);
    expect(r1.status).toBe(401);
    expect(r1.body.error).toBe('TOKEN_INVALID');
    expect(r1.res.headers.get('www-authenticate')).toMatch(/^Bearer realm="warden", error="invalid_token"/);
    expect(r1.forwarded).toBe(0);

    const es = await generateKeyPair('ES256');
    const esToken = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'JWT' }).sign(es.privateKey);
    const r2 = await get(esToken);
    expect(r2.status).toBe(401);
    expect(r2.body.error).toBe('TOKEN_INVALID');
    expect(r2.forwarded).toBe(0);

    // The genuine token of the same task still passes.
    expect((await get(t.token)).status).toBe(200);
  });
});

// ------------------------------------------------------------------------------------------------
describe('an issuer with a jwks_file', () => {
  const ISS = 'https://file-issuer.example';
  let up: TestUpstream;
  let w: WardenHandle;
  let jwksFile: string;
  let k1: SigningKey;

  const writeJwks = (keys: SigningKey[]) => writeFileSync(jwksFile, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
  const token = (key: SigningKey, claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, { iss: ISS, aud: 'warden', sub: 'file-agent', iat: now, exp: now + 300, jti: crypto.randomUUID(), ...claims });
  };

  beforeAll(async () => {
    up = await startUpstream();
    const dir = tempDir('warden-jwksfile-');
    jwksFile = join(dir, 'issuer-jwks.json');
    k1 = await makeSigningKey('file-key-1', 'ES256');
    writeJwks([k1]);
    w = await startWarden({
      dir,
      now: clock.now,
      bundle: await compilePolicy(AGENT_POLICY),
      upstreams: { api: { prefix: '/api', url: up.url, lanes: bearerLanes({ read: 'TEST_IDOPT_READ' }) } },
      config: { identity: { issuers: [{ name: 'filed', issuer: ISS, audiences: ['warden'], jwks_file: jwksFile, algorithms: ['ES256'] }] } },
      agents: [{ id: 'file-agent', owner: 'platform-team', subjects: [{ issuer: ISS, subject: 'file-agent' }] }],
    });
  });
  afterAll(() => closeAll(w, up));

  const get = (tok: string) => send(w, up, '/api/things', { authorization: `Bearer ${tok}` });

  it('a token signed with the file key passes; after the file is rewritten with a new key, the new key passes and the old is refused', async () => {
    const r1 = await get(await token(k1));
    expect(r1.status, r1.text).toBe(200);
    expect(r1.forwarded).toBe(1);
    expect((await w.decisionFor(r1.id)).input.agent).toMatchObject({ id: 'file-agent', issuer: 'filed' });

    const k2 = await makeSigningKey('file-key-two', 'ES256');
    // Not yet published: refused.
    const early = await get(await token(k2));
    expect(early.status).toBe(401);
    expect(early.forwarded).toBe(0);

    // Rotation: the file now holds only k2. Warden looks at the file at most once a second.
    writeJwks([k2]);
    clock.advance(1100);
    const r2 = await get(await token(k2));
    expect(r2.status, r2.text).toBe(200);
    expect(r2.forwarded).toBe(1);

    const old = await get(await token(k1));
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('TOKEN_INVALID');
    expect(old.forwarded).toBe(0);
    // Still refused once the refetch cooldown has passed (k1 really left the set).
    clock.advance(1100);
    const old2 = await get(await token(k1));
    expect(old2.status).toBe(401);
    expect(old2.forwarded).toBe(0);
    expect((await get(await token(k2))).status).toBe(200);
  });
});

// ------------------------------------------------------------------------------------------------
describe('a custom identity header (identity.header: x-agent-token)', () => {
  let up: TestUpstream;
  let w: WardenHandle;
  beforeAll(async () => {
    up = await startUpstream();
    w = await startWarden({
      upstreams: { github: { prefix: '/github', url: up.url, lanes } },
      config: { identity: { header: 'x-agent-token' } },
    });
  });
  afterAll(() => closeAll(w, up));

  it('the bare token in x-agent-token passes and is never forwarded or logged', async () => {
    const t = await w.task();
    const r = await send(w, up, '/github/repos/acme/app', { 'x-agent-token': t.token });
    expect(r.status, r.text).toBe(200);
    expect(r.forwarded).toBe(1);
    const seen = up.seen.at(-1)!;
    expect(seen.headers['x-agent-token']).toBeUndefined();
    expect(seen.headers.authorization).toBe('Bearer idopt-read-secret');
    expect(JSON.stringify(seen.headers)).not.toContain(t.token);
    const line = await w.decisionFor(r.id);
    expect(line).toMatchObject({ outcome: 'allow', task: t.task_id });
    expect(line.input.request.headers['x-agent-token']).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain(t.token);
  });

  it('the same token in authorization is refused 401 TOKEN_MISSING, not forwarded', async () => {
    const t = await w.task();
    const r = await send(w, up, '/github/repos/acme/app', { authorization: `Bearer ${t.token}` });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('TOKEN_MISSING');
    expect(r.res.headers.get('www-authenticate')).toBe('Bearer realm="warden"');
    expect(r.forwarded).toBe(0);
    expect(r.text).not.toContain(t.token);
    const line = await w.decisionFor(r.id);
    expect(line).toMatchObject({ outcome: 'error', error: 'TOKEN_MISSING', status: 401 });
    // A malformed value in the custom header is an invalid token, not a missing one.
    const bad = await send(w, up, '/github/repos/acme/app', { 'x-agent-token': `${t.token} extra` });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('TOKEN_INVALID');
    expect(bad.forwarded).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------------
describe('a JWKS URL unreachable at start', () => {
  const ISS = 'https://flaky-issuer.example';
  let up: TestUpstream;
  let w: WardenHandle;
  let port: number;
  let key: SigningKey;
  let jwks: Server | undefined;

  const token = () => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, { iss: ISS, aud: 'warden', sub: 'flaky-agent', iat: now, exp: now + 300, jti: crypto.randomUUID() });
  };

  beforeAll(async () => {
    up = await startUpstream();
    key = await makeSigningKey('flaky-k1', 'ES256');
    // A port that was just free: nothing listens on it while Warden starts.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    w = await startWarden({
      now: clock.now,
      bundle: await compilePolicy(AGENT_POLICY),
      upstreams: { api: { prefix: '/api', url: up.url, lanes: bearerLanes({ read: 'TEST_IDOPT_READ' }) } },
      config: { identity: { issuers: [{ name: 'flaky', issuer: ISS, audiences: ['warden'], jwks_url: `http://127.0.0.1:${port}/jwks`, algorithms: ['ES256'] }] } },
      agents: [{ id: 'flaky-agent', owner: 'platform-team', subjects: [{ issuer: ISS, subject: 'flaky-agent' }] }],
    });
  });
  afterAll(async () => {
    await closeAll(w, up);
    if (jwks) {
      jwks.closeAllConnections();
      await new Promise<void>((r) => jwks!.close(() => r()));
    }
  });

  const get = async () => send(w, up, '/api/things', { authorization: `Bearer ${await token()}` });

  it('Warden starts; tokens of that issuer get 401 JWKS_UNAVAILABLE, never forwarded; once the JWKS is served they pass', async () => {
    const ready = await fetch(`${w.adminUrl}/ready`);
    expect(ready.status).toBe(200);

    // Within the refetch cooldown, and after it (a real fetch attempt that fails again).
    for (const wait of [0, 1100]) {
      clock.advance(wait);
      const r = await get();
      expect(r.status, r.text).toBe(401);
      expect(r.body.error).toBe('JWKS_UNAVAILABLE');
      expect(r.body.decision_id).toBe(r.id);
      expect(r.res.headers.get('www-authenticate')).toMatch(/^Bearer realm="warden", error="invalid_token"/);
      expect(r.forwarded).toBe(0);
      expect(r.text).not.toContain('127.0.0.1');
      expect(await w.decisionFor(r.id)).toMatchObject({ outcome: 'error', error: 'JWKS_UNAVAILABLE', status: 401 });
    }

    // The issuer comes up on the configured (fixed) port.
    jwks = createServer((req, res) => {
      if (req.url !== '/jwks') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [key.jwk] }));
    });
    await new Promise<void>((resolve, reject) => {
      jwks!.once('error', reject);
      jwks!.listen(port, '127.0.0.1', () => resolve());
    });
    clock.advance(1100); // the refetch cooldown since the last failed attempt
    const ok = await get();
    expect(ok.status, ok.text).toBe(200);
    expect(ok.forwarded).toBe(1);
    expect((await w.decisionFor(ok.id)).input.agent).toMatchObject({ id: 'flaky-agent', issuer: 'flaky' });
  });
});
