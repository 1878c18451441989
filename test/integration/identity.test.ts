// External identities end to end: SPIFFE JWT-SVIDs and OIDC tokens verified by a running Warden
// against a JWKS served by a real local HTTP server, keys made in the test. The policy allows any
// verified agent (there is no task) on the read lane.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningKey, signJwt, startJwksServer, type JwksServer, type SigningKey } from '../helpers/jwks-server.js';
import { bearerLanes } from '../helpers/lanes.js';
import { compilePolicy } from '../helpers/policy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { testClock } from '../helpers/wait.js';
import { startWarden, type WardenHandle } from '../helpers/warden.js';

/** Warden's identity clock: moved past the JWKS refetch cooldown instead of sleeping through it. */
const clock = testClock();

process.env.TEST_ID_READ = 'identity-read-secret';

const SPIRE = 'https://spire.example.org';
const OIDC = 'https://login.example.com';
const SVID_SUB = 'spiffe://example.org/ns/agents/sa/coder';

const POLICY = `package warden
import rego.v1

default decision := {"decision": "deny", "reason": "no agent", "lane": "", "headers": {}}

decision := {"decision": "allow", "reason": "verified agent", "lane": "read", "headers": {"x-agent": input.agent.id}} if {
	is_string(input.agent.id)
	input.agent.id != ""
}
`;

let up: TestUpstream;
let spireJwks: JwksServer;
let oidcJwks: JwksServer;
let k1: SigningKey;
let oidcKey: SigningKey;
let w: WardenHandle;

beforeAll(async () => {
  up = await startUpstream();
  k1 = await makeSigningKey('spire-k1', 'ES256');
  oidcKey = await makeSigningKey('oidc-k1', 'RS256');
  spireJwks = await startJwksServer([k1]);
  oidcJwks = await startJwksServer([oidcKey]);
  w = await startWarden({
    now: clock.now,
    bundle: await compilePolicy(POLICY),
    upstreams: { api: { prefix: '/api', url: up.url, lanes: bearerLanes({ read: 'TEST_ID_READ' }) } },
    config: {
      identity: {
        // These tests are about verifying external tokens; mapping them to registered agents is
        // test/integration/agents.test.ts's.
        registered_agents_only: false,
        issuers: [
          { name: 'spire', issuer: SPIRE, audiences: ['warden', 'api.internal'], jwks_url: spireJwks.url, algorithms: ['ES256'], spiffe: true, trust_domain: 'example.org', max_lifetime: '10m' },
          { name: 'corp', issuer: OIDC, audiences: ['warden'], jwks_url: oidcJwks.url, algorithms: ['RS256'], agent_claim: 'azp' },
        ],
      },
    },
  });
});
afterAll(async () => {
  await w?.close();
  await up?.close();
  await spireJwks?.close();
  await oidcJwks?.close();
});

function svid(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(key, { iss: SPIRE, aud: 'warden', sub: SVID_SUB, iat: now, exp: now + 300, ...claims }, header);
}

const call = (token: string) => fetch(`${w.proxyUrl}/api/things`, { headers: { authorization: `Bearer ${token}` } });

async function expectPasses(token: string): Promise<Record<string, any>> {
  const res = await call(token);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const line = await w.decisionFor(res.headers.get('warden-decision-id'));
  expect(line.outcome).toBe('allow');
  return line;
}

async function expectRefused(token: string): Promise<void> {
  const before = up.seen.length;
  const res = await call(token);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="warden", error="invalid_token"/);
  expect((await res.json()).error).toMatch(/^TOKEN_/);
  expect(up.seen.length).toBe(before);
}

describe('SPIFFE JWT-SVIDs from a JWKS URL', () => {
  it('a JWT-SVID of the trust domain passes, with input.agent from the verified token', async () => {
    const token = await svid(k1);
    const line = await expectPasses(token);
    const input = line.input as any;
    expect(input.agent).toMatchObject({ id: SVID_SUB, issuer: 'spire', claims: { iss: SPIRE, sub: SVID_SUB, aud: 'warden' } });
    expect(input.task).toBeUndefined();
    expect(line.agent).toBe(SVID_SUB);
    const seen = up.seen.at(-1)!;
    expect(seen.headers['x-agent']).toBe(SVID_SUB);
    expect(seen.headers.authorization).toBe('Bearer identity-read-secret');
    expect(JSON.stringify(seen.headers)).not.toContain(token);
    // A second audience from the list, and an aud array naming one of ours, pass as well.
    await expectPasses(await svid(k1, { aud: 'api.internal' }));
    await expectPasses(await svid(k1, { aud: ['other', 'warden'] }));
  });

  it('refuses a wrong trust domain, a non-SPIFFE sub and a wrong aud', async () => {
    await expectRefused(await svid(k1, { sub: 'spiffe://evil.example/ns/agents/sa/coder' }));
    await expectRefused(await svid(k1, { sub: 'spiffe://example.org.evil.example/ns/a' }));
    await expectRefused(await svid(k1, { sub: 'agent-1' }));
    await expectRefused(await svid(k1, { sub: 'spiffe://example.org' }));
    await expectRefused(await svid(k1, { aud: 'someone-else' }));
    await expectRefused(await svid(k1, { aud: ['a', 'b'] }));
  });

  it('refuses expired, not-yet-valid, too-long-lived, unknown-key, alg:none and tampered SVIDs', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await svid(k1, { iat: now - 400, exp: now - 100 }));
    await expectRefused(await svid(k1, { nbf: now + 300, exp: now + 400 }));
    await expectRefused(await svid(k1, { iat: now + 300, exp: now + 400 }));
    await expectRefused(await svid(k1, { exp: now + 3600 })); // max_lifetime 10m
    await expectRefused(await svid(k1, { exp: undefined }));
    // Another key claiming the published kid.
    const impostor = await makeSigningKey('spire-k1', 'ES256');
    await expectRefused(await svid(impostor));
    // An algorithm the issuer does not list.
    const ed = await makeSigningKey('spire-k1', 'EdDSA');
    await expectRefused(await svid(ed));
    const good = await svid(k1);
    const [h, p, s] = good.split('.');
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    await expectRefused(`${enc({ alg: 'none', typ: 'JWT' })}.${p}.`);
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    await expectRefused(`${h}.${enc({ ...claims, sub: 'spiffe://example.org/ns/admin/sa/root' })}.${s}`);
    // An unknown issuer is refused before any key lookup.
    await expectRefused(await svid(k1, { iss: 'https://other.example' }));
  });

  it('accepts an OIDC token from another issuer, naming the agent by agent_claim', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signJwt(oidcKey, { iss: OIDC, aud: 'warden', sub: 'user-42', azp: 'ci-agent', iat: now, exp: now + 300 });
    const line = await expectPasses(token);
    expect((line.input as any).agent).toMatchObject({ id: 'ci-agent', issuer: 'corp' });
    // The SPIRE key cannot sign for the OIDC issuer.
    await expectRefused(await signJwt({ ...k1, kid: 'oidc-k1' }, { iss: OIDC, aud: 'warden', sub: 'x', azp: 'ci-agent', iat: now, exp: now + 300 }));
  });
});

describe('JWKS key rotation', () => {
  it('a token signed with a new key (new kid) passes once the JWKS publishes it', async () => {
    await expectPasses(await svid(k1));
    const k2 = await makeSigningKey('spire-k2', 'ES256');
    // Signed with a kid Warden has not seen, before the issuer publishes it: refused.
    const early = await svid(k2);
    clock.advance(1100);
    await expectRefused(early);

    // The issuer rotates: the set now holds only k2.
    spireJwks.setKeys([k2]);
    // Warden refetches on an unknown kid at most once a second.
    clock.advance(1100);
    const fetchesBefore = spireJwks.fetches.length;
    await expectPasses(await svid(k2));
    expect(spireJwks.fetches.length).toBe(fetchesBefore + 1);
    // The set is cached: more tokens with k2 need no fetch.
    await expectPasses(await svid(k2, { jti: 'again' }));
    expect(spireJwks.fetches.length).toBe(fetchesBefore + 1);
    // k1 left the set: a fresh token signed with it is refused.
    await expectRefused(await svid(k1, { jti: 'old-key' }));
  });
});
