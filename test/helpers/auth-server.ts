// The real authorization server of the tests: examples/auth-server.ts (oidc-provider) on port 0,
// with Warden's client, an introspecting resource-server client and one resource, plus the lane
// configurations that point Warden at it.

import { startAuthServer, type AuthServer } from '../../examples/auth-server.js';
import type { WardenHandle } from './warden.js';

export const OAUTH_CLIENT = { id: 'warden', secret: 'oauth-client-secret-7f3a91c2' };
export const INTROSPECTOR = { id: 'api-resource-server', secret: 'introspector-secret-5b2e' };
export const RESOURCE = 'https://api.example/';
export const LANE_SCOPES = ['repo:read', 'repo:write', 'repo:admin'];
process.env.TEST_OAUTH_CLIENT_SECRET = OAUTH_CLIENT.secret;

export type { AuthServer };

export function startTestAuthServer(): Promise<AuthServer> {
  return startAuthServer({ client: OAUTH_CLIENT, introspector: INTROSPECTOR, resources: { [RESOURCE]: LANE_SCOPES } });
}

/** An `oauth` lane of Warden at this server. */
export function oauthLane(as: AuthServer, grant: 'client_credentials' | 'token_exchange', scope: string, extra: Record<string, unknown> = {}) {
  return {
    header: 'authorization',
    oauth: { token_url: as.tokenUrl, client_id: OAUTH_CLIENT.id, client_secret: '${env:TEST_OAUTH_CLIENT_SECRET}', grant, scope, resource: RESOURCE, revocation_url: as.revocationUrl, ...extra },
  };
}

/** Let the server trust Warden's subject and actor assertions (token exchange). */
export function trustWarden(as: AuthServer, w: WardenHandle): void {
  as.trust('warden', `${w.adminUrl}/.well-known/jwks.json`);
}

/** The bearer token an upstream request carried. */
export function bearerOf(headers: Record<string, string | string[] | undefined>): string {
  const v = headers.authorization;
  if (typeof v !== 'string' || !v.startsWith('Bearer ')) throw new Error('no bearer token reached the upstream');
  return v.slice('Bearer '.length);
}
