// The credential a lane injects, whatever its kind: a static secret (`value`) or a just-in-time
// token (`oauth`). The request path asks here once per forwarded call and records what the
// decision log may show: `credential: {lane, kind, id}`, never the value.

import { WardenError } from '../errors.js';
import type { Awaitable } from '../store/awaitable.js';
import type { OAuthGrantKind } from '../store/credentials.js';
import type { CredentialLanes } from './lanes.js';
import type { CredentialSubject, JitCredentials } from './jit-credentials.js';
import type { Narrowing } from './narrowing.js';

export type CredentialKind = 'static' | OAuthGrantKind;

export interface CredentialLog {
  readonly lane: string;
  readonly kind: CredentialKind;
  readonly id: string;
}

export interface LaneCredential {
  readonly header: string;
  readonly value: string;
  readonly log: CredentialLog;
}

export class LaneCredentials {
  constructor(
    private readonly statics: CredentialLanes,
    private readonly jit: JitCredentials,
  ) {}

  /** Header names the lanes of this upstream use: stripped from what the agent sends. */
  headerNames(upstream: string): ReadonlySet<string> {
    return this.statics.headerNames(upstream);
  }

  has(upstream: string, lane: string): boolean {
    return this.statics.has(upstream, lane) || this.jit.has(upstream, lane);
  }

  /**
   * The lane's credential for this call. Rejects with LANE_UNDEFINED, UPSTREAM_CREDENTIAL_UNAVAILABLE,
   * CREDENTIAL_ISSUER_UNAVAILABLE, or POLICY_RESULT_INVALID for a narrowing the lane cannot honour.
   * A static lane answers with the value itself (no promise on the request path), and never asks
   * for `who` (built only for a just-in-time lane).
   */
  resolve(upstream: string, lane: string, who: () => CredentialSubject, narrowing: Narrowing | undefined): Awaitable<LaneCredential> {
    if (this.jit.has(upstream, lane)) return this.#minted(upstream, lane, who(), narrowing);
    try {
      // A static secret cannot be narrowed: forwarding it would grant more than the policy asked.
      if (narrowing) throw new WardenError('POLICY_RESULT_INVALID', `credential: lane ${upstream}/${lane} is static and cannot be narrowed`);
      return this.statics.resolve(upstream, lane);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #minted(upstream: string, lane: string, who: CredentialSubject, narrowing: Narrowing | undefined): Promise<LaneCredential> {
    const c = await this.jit.resolve(upstream, lane, who, narrowing);
    return { header: c.header, value: c.value, log: { lane, kind: c.kind, id: c.id } };
  }
}
