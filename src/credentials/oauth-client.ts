// The OAuth 2.0 client side of just-in-time credentials: the token endpoint (client credentials,
// RFC 6749 §4.4; token exchange, RFC 8693) with RFC 8707 resource indicators, and the revocation
// endpoint (RFC 7009). The client authenticates with client_secret_basic. Nothing here logs or
// echoes a token or the client secret: failures carry the endpoint's status and OAuth error code.

import { Buffer } from 'node:buffer';
import { Agent, request } from 'undici';
import { WardenError, describeThrown } from '../errors.js';

export interface ClientAuth {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface TokenResponse {
  readonly accessToken: string;
  /** Seconds, when the server said. */
  readonly expiresIn: number | undefined;
  /** The scope granted, when the server said. */
  readonly scope: string | undefined;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const MAX_RESPONSE_BYTES = 64 * 1024;

const unavailable = (detail: string, cause?: unknown): WardenError => new WardenError('CREDENTIAL_ISSUER_UNAVAILABLE', detail, cause === undefined ? undefined : { cause });

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and encoded. */
function basicAuth(auth: ClientAuth): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(auth.clientId)}:${enc(auth.clientSecret)}`).toString('base64')}`;
}

/** Where and how: the endpoint, the client's credentials, the time allowed, the lane's name for errors. */
export interface Endpoint {
  readonly url: string;
  readonly auth: ClientAuth;
  readonly timeoutMs: number;
  readonly label: string;
}

export class OAuthClient {
  readonly #agent = new Agent({ keepAliveTimeout: 10_000 });

  /** POSTs a grant to the token endpoint. */
  async token(ep: Endpoint, form: Record<string, string | undefined>): Promise<TokenResponse> {
    const { label } = ep;
    const { status, json } = await this.#post(ep, form);
    if (status !== 200) {
      const code = typeof json?.error === 'string' ? ` ${json.error.slice(0, 64)}` : '';
      throw unavailable(`${label}: token endpoint answered ${status}${code}`);
    }
    const token = json?.access_token;
    if (typeof token !== 'string' || token === '') throw unavailable(`${label}: token response without access_token`);
    if (typeof json?.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') throw unavailable(`${label}: token_type is not Bearer`);
    const expiresIn = typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) && json.expires_in > 0 ? json.expires_in : undefined;
    const scope = typeof json.scope === 'string' ? json.scope : undefined;
    return { accessToken: token, expiresIn, scope };
  }

  /** RFC 7009: 200 means revoked (or unknown, which is as good). */
  async revoke(ep: Endpoint, token: string): Promise<void> {
    const { status } = await this.#post(ep, { token, token_type_hint: 'access_token' });
    if (status !== 200) throw unavailable(`${ep.label}: revocation endpoint answered ${status}`);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #post(ep: Endpoint, form: Record<string, string | undefined>): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
    const { url, auth, label } = ep;
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v !== undefined) body.append(k, v);
    let res;
    try {
      res = await request(url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: basicAuth(auth) },
        body: body.toString(),
        headersTimeout: ep.timeoutMs,
        bodyTimeout: ep.timeoutMs,
        signal: AbortSignal.timeout(ep.timeoutMs),
      });
    } catch (err) {
      throw unavailable(`${label}: ${new URL(url).origin} unreachable: ${describeThrown(err).slice(0, 200)}`, err);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          res.body.destroy();
          throw unavailable(`${label}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      throw err instanceof WardenError ? err : unavailable(`${label}: response could not be read`, err);
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      json = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json };
  }
}
