// A local OAuth 2.0 authorization server for the quick start and the integration tests: the
// standards-conformant `oidc-provider` configured with client credentials, RFC 8707 resource
// indicators, RFC 7662 introspection, RFC 7009 revocation, and RFC 8693 token exchange
// registered through its `registerGrantType` hook. Token exchange accepts a subject token and an
// actor token that the trusted issuer (Warden) signed for this server's token endpoint, and issues
// an access token for the subject with the actor in `act` (RFC 8693 §4.1).

import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, jwtVerify, type JWTPayload } from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface AuthServerOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  /** Warden's client at this server. */
  readonly client: { readonly id: string; readonly secret: string };
  /** A client that resource servers (upstreams) use to introspect tokens. */
  readonly introspector?: { readonly id: string; readonly secret: string };
  /** Resource indicators this server issues tokens for (a requested resource may lie under one), with their scopes. */
  readonly resources: Readonly<Record<string, readonly string[]>>;
  /** Lifetime of access tokens, in seconds. */
  readonly accessTokenTtl?: number;
}

export interface AuthServer {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly revocationUrl: string;
  readonly introspectionUrl: string;
  /** Trust subject and actor tokens of `issuer`, verified with the JWKS at `jwksUrl` (Warden's admin listener). */
  trust(issuer: string, jwksUrl: string): void;
  /** RFC 7662 introspection with the introspector client. */
  introspect(token: string): Promise<Record<string, unknown>>;
  /** Stops answering: connections are refused until start() (the "server down" case). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface Trusted {
  issuer: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
}

export async function startAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const issuer = `http://127.0.0.1:${port}`;
  const ttl = opts.accessTokenTtl ?? 600;
  const allScopes = [...new Set(Object.values(opts.resources).flat())];
  const resourceBase = (resource: string): string | undefined => Object.keys(opts.resources).find((base) => resource === base || resource.startsWith(base.endsWith('/') ? base : `${base}/`));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let trusted: Trusted | undefined;
  // QUIRK(oidc-provider): opaque tokens take their extra claims from `extraTokenClaims` at save
  // time (a token's own `extra` is overwritten), so exchanged tokens hand theirs over here.
  const exchanged = new WeakMap<object, Record<string, unknown>>();

  const provider = new Provider(issuer, {
    clients: [
      { client_id: opts.client.id, client_secret: opts.client.secret, grant_types: ['client_credentials', TOKEN_EXCHANGE], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: allScopes.join(' ') },
      ...(opts.introspector ? [{ client_id: opts.introspector.id, client_secret: opts.introspector.secret, grant_types: [], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' as const }] : []),
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'RS256', use: 'sig' }] },
    scopes: allScopes,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Resource servers and Warden may introspect; only the client a token was issued to may revoke it.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client) => client.clientId === opts.introspector?.id || client.clientId === opts.client.id },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as unknown as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const base = resourceBase(resource);
          if (!base) throw new errors.InvalidTarget();
          return { scope: opts.resources[base]!.join(' '), audience: resource, accessTokenFormat: 'opaque', accessTokenTTL: ttl };
        },
      },
    },
    ttl: { ClientCredentials: ttl },
    extraTokenClaims: async (_ctx, token) => exchanged.get(token),
  });

  const verify = async (token: unknown, type: unknown, what: string): Promise<JWTPayload> => {
    if (typeof token !== 'string' || type !== JWT_TYPE) throw new errors.InvalidRequest(`${what} must be a ${JWT_TYPE}`);
    if (!trusted) throw new errors.InvalidGrant(`no trusted issuer for ${what}`);
    try {
      const { payload } = await jwtVerify(token, trusted.jwks, { issuer: trusted.issuer, audience: `${issuer}/token`, requiredClaims: ['sub', 'exp'] });
      return payload;
    } catch {
      throw new errors.InvalidGrant(`${what} is invalid`);
    }
  };

  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      const client = ctx.oidc.client!;
      const subject = await verify(params.subject_token, params.subject_token_type, 'subject_token');
      const actor = await verify(params.actor_token, params.actor_token_type, 'actor_token');
      if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('only access tokens are issued');
      const asked = (params.scope ?? '').split(' ').filter(Boolean);
      const allowed = new Set((client.scope ?? '').split(' '));
      for (const s of asked) if (!allowed.has(s)) throw new errors.InvalidScope('requested scope is not allowed', s);
      const resource = params.resource;
      const base = resource === undefined ? undefined : resourceBase(resource);
      if (resource !== undefined && !base) throw new errors.InvalidTarget();
      const scope = base ? asked.filter((s) => opts.resources[base]!.includes(s)) : asked;
      const token = new provider.ClientCredentials({ client, scope: scope.join(' ') || undefined });
      exchanged.set(token, { sub: subject.sub, act: { sub: actor.sub, iss: actor.iss } });
      if (resource !== undefined) {
        token.resourceServer = { audience: resource, scope: opts.resources[base!]!.join(' '), accessTokenFormat: 'opaque', accessTokenTTL: ttl, identifier: () => resource } as never;
      }
      const value = await token.save();
      ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: token.expiration, ...(token.scope && { scope: token.scope }) };
    },
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'scope', 'resource', 'audience'],
  );

  let server: Server | undefined;
  const start = async (): Promise<void> => {
    server = createServer(provider.callback());
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  };
  await start();

  const introspector = opts.introspector;
  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    introspectionUrl: `${issuer}/token/introspection`,
    trust(iss, jwksUrl) {
      trusted = { issuer: iss, jwks: createRemoteJWKSet(new URL(jwksUrl)) };
    },
    async introspect(token) {
      if (!introspector) throw new Error('no introspector client configured');
      const res = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${introspector.id}:${introspector.secret}`).toString('base64')}` },
        body: new URLSearchParams({ token }).toString(),
      });
      return (await res.json()) as Record<string, unknown>;
    },
    stop,
    start,
    close: stop,
  };
}
