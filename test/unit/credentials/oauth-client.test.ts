// The OAuth client of just-in-time credentials against a token endpoint on port 0 whose answers the
// test scripts (the full authorization server runs in jit-credentials.test.ts): client_secret_basic
// encoded as RFC 6749 §2.3.1 says, the form sent, what a token answer must hold, and the one coded
// error (CREDENTIAL_ISSUER_UNAVAILABLE) for every way the server fails, never carrying a secret.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OAuthClient, type Endpoint } from '../../../src/credentials/oauth-client.js';
import { listen } from '../../helpers/listen.js';

const SECRET = 'se cret:with/odd+chars';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
}

/** A token endpoint answering `reply` (status and body, or 'hang'); records each request. */
async function endpoint(reply: () => { status: number; body: string } | 'hang'): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, form: Object.fromEntries(new URLSearchParams(body)) });
      const r = reply();
      if (r !== 'hang') res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
    });
  });
  const l = await listen(server);
  cleanups.push(l.close);
  return { url: `${l.url}/token`, seen };
}

function client(): OAuthClient {
  const c = new OAuthClient();
  cleanups.push(() => c.close());
  return c;
}

const ep = (url: string, timeoutMs = 2_000): Endpoint => ({ url, auth: { clientId: 'warden bot', clientSecret: SECRET }, timeoutMs, label: 'upstreams.gh.lanes.write' });
const json = (status: number, body: unknown) => () => ({ status, body: JSON.stringify(body) });

describe('OAuthClient.token', () => {
  it('authenticates with client_secret_basic (form-encoded first), sends the form without absent fields', async () => {
    const as = await endpoint(json(200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 300, scope: 'repo:read' }));
    const t = await client().token(ep(as.url), { grant_type: 'client_credentials', scope: 'repo:read', resource: 'https://api.example/', audience: undefined });
    expect(t).toEqual({ accessToken: 'at-1', expiresIn: 300, scope: 'repo:read' });
    const { headers, form } = as.seen[0]!;
    expect(Buffer.from(headers.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('warden+bot:se+cret%3Awith%2Fodd%2Bchars');
    expect([headers['content-type'], headers.accept]).toEqual(['application/x-www-form-urlencoded', 'application/json']);
    expect(form).toEqual({ grant_type: 'client_credentials', scope: 'repo:read', resource: 'https://api.example/' });
  });

  it.each([
    [{ expires_in: 0 }, undefined],
    [{ expires_in: -5 }, undefined],
    [{ expires_in: '300' }, undefined],
    [{ expires_in: 1e400 }, undefined],
    [{ expires_in: 59.5 }, 59.5],
    [{ token_type: 'bearer' }, undefined],
  ])('reads %j as expiresIn %s, scope absent when not said', async (extra, expiresIn) => {
    const as = await endpoint(json(200, { access_token: 'at', token_type: 'BEARER', ...extra }));
    expect(await client().token(ep(as.url), { grant_type: 'client_credentials' })).toEqual({ accessToken: 'at', expiresIn, scope: undefined });
  });

  it.each([
    ['an OAuth error', json(400, { error: 'invalid_client', error_description: 'bad secret' }), 'token endpoint answered 400 invalid_client'],
    ['a long error code, cut', json(401, { error: 'x'.repeat(100) }), `token endpoint answered 401 ${'x'.repeat(64)}`],
    ['a 503 without a body', () => ({ status: 503, body: '' }), 'token endpoint answered 503'],
    ['no access_token', json(200, { token_type: 'Bearer' }), 'token response without access_token'],
    ['an empty access_token', json(200, { access_token: '', token_type: 'Bearer' }), 'token response without access_token'],
    ['another token type', json(200, { access_token: 'at', token_type: 'DPoP' }), 'token_type is not Bearer'],
    ['a body that is not JSON', () => ({ status: 200, body: 'access_token=at' }), 'token response without access_token'],
    ['a JSON array', () => ({ status: 200, body: '[{"access_token":"at"}]' }), 'token response without access_token'],
    ['an answer over 64 KiB', json(200, { access_token: 'at', token_type: 'Bearer', pad: 'x'.repeat(70_000) }), 'response larger than 65536 bytes'],
  ])('refuses %s with CREDENTIAL_ISSUER_UNAVAILABLE naming the lane', async (_what, reply, detail) => {
    const as = await endpoint(reply);
    const err = await client().token(ep(as.url), { grant_type: 'client_credentials' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CREDENTIAL_ISSUER_UNAVAILABLE', status: 503, detail: `upstreams.gh.lanes.write: ${detail}` });
    expect(JSON.stringify(err)).not.toContain('cret');
  });

  it('refuses an unreachable endpoint naming its origin only, and one that does not answer in time', async () => {
    const as = await endpoint(() => 'hang');
    const gone = await endpoint(json(200, {}));
    const origin = new URL(gone.url).origin;
    await cleanups.splice(1, 1)[0]!(); // close the second server: its port refuses
    const refused = await client().token(ep(`${gone.url}?client_secret=${SECRET}`), { grant_type: 'client_credentials' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'CREDENTIAL_ISSUER_UNAVAILABLE', detail: expect.stringMatching(new RegExp(`^upstreams\\.gh\\.lanes\\.write: ${origin} unreachable: `)) });
    expect(JSON.stringify(refused)).not.toContain('cret');
    // The endpoint never answers: the timeout running out is the behaviour under test.
    const late = await client().token(ep(as.url, 150), { grant_type: 'client_credentials' }).catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'CREDENTIAL_ISSUER_UNAVAILABLE', detail: expect.stringContaining(`${new URL(as.url).origin} unreachable: `) });
  });
});

describe('OAuthClient.revoke', () => {
  it('posts the token with its type hint; 200 is revoked, anything else is an error', async () => {
    let status = 200;
    const rs = await endpoint(() => ({ status, body: '' }));
    const c = client();
    await c.revoke(ep(rs.url), 'at-9');
    expect(rs.seen[0]!.form).toEqual({ token: 'at-9', token_type_hint: 'access_token' });
    status = 503;
    await expect(c.revoke(ep(rs.url), 'at-9')).rejects.toMatchObject({ code: 'CREDENTIAL_ISSUER_UNAVAILABLE', detail: 'upstreams.gh.lanes.write: revocation endpoint answered 503' });
  });
});
