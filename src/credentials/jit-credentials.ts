// Just-in-time downstream credentials (`lanes.<name>.oauth`): on the first call of a task on the
// lane, a token is obtained from the authorization server (client credentials, or RFC 8693 token
// exchange with the task's user as subject and the agent as actor), with the lane's scope and
// RFC 8707 resource narrowed by the policy. It is cached per task, lane and narrowing until it
// nears expiry or the task ends, and revoked (RFC 7009) when the task ends, is revoked, or its
// agent is suspended. The agent never sees it; logs get `{lane, kind, id}` only.

import { randomUUID } from 'node:crypto';
import { WardenError } from '../errors.js';
import type { SecretTemplate } from '../config/secrets.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { CredentialStore, IssuedCredential, OAuthGrantKind } from '../store/credentials.js';
import { narrow, type Narrowing } from './narrowing.js';
import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, type OAuthClient } from './oauth-client.js';

export interface OAuthLaneSettings {
  readonly token_url: string;
  readonly client_id: string;
  readonly grant: OAuthGrantKind;
  readonly scope?: string | undefined;
  readonly resource?: string | undefined;
  readonly audience?: string | undefined;
  readonly revocation_url?: string | undefined;
  readonly timeout: number;
  /** Re-mint this long before the token expires (ms). */
  readonly refresh_before: number;
}

export interface OAuthLane {
  readonly upstream: string;
  readonly lane: string;
  readonly header: string;
  readonly settings: OAuthLaneSettings;
  readonly clientSecret: SecretTemplate;
}

/** Who a call acts for. */
export interface CredentialSubject {
  readonly agentId: string;
  readonly task?: { readonly id: string; readonly userId: string; readonly endsAtMs: number };
}

export interface MintedCredential {
  readonly header: string;
  readonly value: string;
  readonly kind: OAuthGrantKind;
  readonly id: string;
}

/** Signs the subject and actor assertions of a token exchange (identity/task-tokens.ts). */
export interface AssertionSigner {
  signAssertion(sub: string, aud: string, claims: Record<string, unknown>, ttlSec: number): Promise<string>;
}

export type CredentialEvent =
  | { event: 'credential.issued'; task?: string; agent: string; upstream: string; lane: string; kind: OAuthGrantKind; credential_id: string; scope?: string; resource?: string; expires_at: string }
  | { event: 'credential.revoked'; task?: string; agent: string; upstream: string; lane: string; kind: OAuthGrantKind; credential_id: string; reason: string }
  | { event: 'credential.revoke_failed'; task?: string; agent: string; upstream: string; lane: string; kind: OAuthGrantKind; credential_id: string; reason: string; error: string };

export interface JitCredentialsOptions {
  readonly onEvent?: (e: CredentialEvent) => void;
  readonly now?: () => number;
}

/** A token without `expires_in` is kept this long (bounded by its task). */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/** Subject and actor assertions live just long enough for the exchange. */
const ASSERTION_TTL_SEC = 60;

/** The oauth lanes of the configuration, with their client secrets (from config/load.ts). */
export function oauthLanesOf(upstreams: Readonly<Record<string, UpstreamConfig>>, secrets: ReadonlyMap<string, SecretTemplate>): OAuthLane[] {
  const out: OAuthLane[] = [];
  for (const [upstream, up] of Object.entries(upstreams)) {
    for (const [lane, cfg] of Object.entries(up.lanes)) {
      if (!cfg.oauth) continue;
      const clientSecret = secrets.get(`${upstream}/${lane}`);
      if (!clientSecret) throw new WardenError('CONFIG_INVALID', `upstreams.${upstream}.lanes.${lane}.oauth: no client secret`);
      out.push({ upstream, lane, header: cfg.header.toLowerCase(), settings: cfg.oauth, clientSecret });
    }
  }
  return out;
}

const ownerOf = (s: CredentialSubject): string => s.task?.id ?? `agent:${s.agentId}`;

export class JitCredentials {
  readonly #lanes = new Map<string, OAuthLane>();
  readonly #minting = new Map<string, Promise<IssuedCredential>>();
  readonly #now: () => number;

  constructor(
    lanes: readonly OAuthLane[],
    private readonly store: CredentialStore,
    private readonly client: OAuthClient,
    private readonly signer: AssertionSigner,
    private readonly opts: JitCredentialsOptions = {},
  ) {
    for (const l of lanes) this.#lanes.set(`${l.upstream}/${l.lane}`, l);
    this.#now = opts.now ?? Date.now;
  }

  has(upstream: string, lane: string): boolean {
    return this.#lanes.has(`${upstream}/${lane}`);
  }

  /** The lane's token for this call: the cached one, or a freshly minted one. */
  async resolve(upstream: string, lane: string, who: CredentialSubject, narrowing: Narrowing | undefined): Promise<MintedCredential> {
    const l = this.#lanes.get(`${upstream}/${lane}`);
    if (!l) throw new WardenError('LANE_UNDEFINED', `${upstream} has no oauth lane ${lane}`);
    const label = `upstreams.${upstream}.lanes.${lane}`;
    const want = narrow({ scope: l.settings.scope, resource: l.settings.resource }, narrowing, label);
    const key = JSON.stringify([ownerOf(who), who.agentId, upstream, lane, want.scope ?? null, want.resource ?? null]);
    const cached = await this.store.get(key);
    const now = this.#now();
    if (cached && now < cached.expires_at - this.#margin(l, cached)) return this.#answer(l, cached);
    let pending = this.#minting.get(key);
    if (!pending) {
      // Concurrent first calls of a task share one mint.
      pending = this.#mint(l, who, want, key).finally(() => this.#minting.delete(key));
      this.#minting.set(key, pending);
    }
    return this.#answer(l, await pending);
  }

  /** Revokes (RFC 7009) every token of a task, or of `agent:<id>` for calls without a task. */
  async revokeOwner(owner: string, reason: string): Promise<void> {
    await this.#revokeAll(await this.store.takeOwner(owner), reason);
  }

  /** Revokes the tokens of tasks that ended by expiry (housekeeping). */
  async revokeEnded(reason = 'task ended'): Promise<void> {
    await this.#revokeAll(await this.store.takeEnded(this.#now()), reason);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  #answer(l: OAuthLane, c: IssuedCredential): MintedCredential {
    return { header: l.header, value: `Bearer ${c.token}`, kind: c.kind, id: c.id };
  }

  /** Renew before expiry: the lane's margin, at most half the token's life. */
  #margin(l: OAuthLane, c: IssuedCredential): number {
    return Math.min(l.settings.refresh_before, (c.expires_at - c.issued_at) / 2);
  }

  async #mint(l: OAuthLane, who: CredentialSubject, want: Narrowing, key: string): Promise<IssuedCredential> {
    const label = `upstreams.${l.upstream}.lanes.${l.lane}`;
    const s = l.settings;
    const ep = { url: s.token_url, auth: { clientId: s.client_id, clientSecret: this.#secret(l, label) }, timeoutMs: s.timeout, label };
    const form: Record<string, string | undefined> = { scope: want.scope, resource: want.resource, audience: s.audience };
    if (s.grant === 'client_credentials') {
      form.grant_type = 'client_credentials';
    } else {
      if (!who.task) throw new WardenError('CREDENTIAL_ISSUER_UNAVAILABLE', `${label}: token exchange needs a task (its user is the subject)`);
      const claims = { warden_task: who.task.id };
      form.grant_type = TOKEN_EXCHANGE_GRANT;
      form.subject_token = await this.signer.signAssertion(who.task.userId, s.token_url, claims, ASSERTION_TTL_SEC);
      form.subject_token_type = JWT_TOKEN_TYPE;
      form.actor_token = await this.signer.signAssertion(who.agentId, s.token_url, claims, ASSERTION_TTL_SEC);
      form.actor_token_type = JWT_TOKEN_TYPE;
      form.requested_token_type = ACCESS_TOKEN_TYPE;
    }
    const got = await this.client.token(ep, form);
    const now = this.#now();
    const endsAt = who.task?.endsAtMs;
    const expiresAt = Math.min(now + (got.expiresIn !== undefined ? got.expiresIn * 1000 : DEFAULT_LIFETIME_MS), endsAt ?? Infinity);
    const scope = got.scope ?? want.scope;
    const cred: IssuedCredential = {
      id: randomUUID(),
      cache_key: key,
      owner: ownerOf(who),
      agent: who.agentId,
      upstream: l.upstream,
      lane: l.lane,
      kind: s.grant,
      token: got.accessToken,
      ...(scope !== undefined && { scope }),
      ...(want.resource !== undefined && { resource: want.resource }),
      issued_at: now,
      expires_at: expiresAt,
      ...(endsAt !== undefined && { owner_ends_at: endsAt }),
      ...(s.revocation_url !== undefined && { revocation_url: s.revocation_url }),
    };
    const replaced = await this.store.put(cred);
    this.opts.onEvent?.({
      event: 'credential.issued',
      ...(who.task && { task: who.task.id }),
      agent: who.agentId,
      upstream: l.upstream,
      lane: l.lane,
      kind: s.grant,
      credential_id: cred.id,
      ...(scope !== undefined && { scope }),
      ...(want.resource !== undefined && { resource: want.resource }),
      expires_at: new Date(expiresAt).toISOString(),
    });
    // The token it replaces (near its expiry) is revoked rather than left to run out.
    if (replaced) void this.#revokeAll([replaced], 'renewed');
    return cred;
  }

  #secret(l: OAuthLane, label: string): string {
    try {
      return l.clientSecret.resolve();
    } catch (err) {
      throw new WardenError('CREDENTIAL_ISSUER_UNAVAILABLE', `${label}.oauth.client_secret cannot be resolved`, { cause: err });
    }
  }

  async #revokeAll(creds: readonly IssuedCredential[], reason: string): Promise<void> {
    await Promise.all(creds.map((c) => this.#revoke(c, reason)));
  }

  async #revoke(c: IssuedCredential, reason: string): Promise<void> {
    const base = { ...(c.owner.startsWith('agent:') ? {} : { task: c.owner }), agent: c.agent, upstream: c.upstream, lane: c.lane, kind: c.kind, credential_id: c.id, reason };
    const l = this.#lanes.get(`${c.upstream}/${c.lane}`);
    if (!c.revocation_url || !l) {
      // Nothing to call: the token only runs out. Said in the log, so the audit shows it.
      this.opts.onEvent?.({ ...base, event: 'credential.revoke_failed', error: c.revocation_url ? 'lane no longer configured' : 'lane has no revocation_url' });
      return;
    }
    const label = `upstreams.${c.upstream}.lanes.${c.lane}`;
    try {
      await this.client.revoke({ url: c.revocation_url, auth: { clientId: l.settings.client_id, clientSecret: this.#secret(l, label) }, timeoutMs: l.settings.timeout, label }, c.token);
      this.opts.onEvent?.({ ...base, event: 'credential.revoked' });
    } catch (err) {
      const e = err instanceof WardenError ? err : new WardenError('CREDENTIAL_ISSUER_UNAVAILABLE', label, { cause: err });
      this.opts.onEvent?.({ ...base, event: 'credential.revoke_failed', error: e.detail ?? e.code });
    }
  }
}
