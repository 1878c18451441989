// Static credential lanes (`value`): the policy's `lane` picks which credential set of the upstream Warden
// injects. The agent never holds the secret. Values are resolved on each use from their
// `${env:}` / `${file:}` templates (file contents cached by mtime), so a rotated file takes
// effect at once. A lane name is logged; its value never is.

import type { UpstreamConfig } from '../config/schema.js';
import type { SecretTemplate } from '../config/secrets.js';
import { WardenError, toWardenError } from '../errors.js';

/** What the decision log shows of a static lane: its name and id, never its value. */
export interface StaticCredentialLog {
  readonly lane: string;
  readonly kind: 'static';
  readonly id: string;
}

export interface Credential {
  readonly header: string;
  readonly value: string;
  /** One frozen object per lane, made at start: the decision log serializes it once (frozen-json.ts). */
  readonly log: StaticCredentialLog;
}

export class CredentialLanes {
  readonly #lanes = new Map<string, { header: string; template: SecretTemplate; log: StaticCredentialLog }>();
  readonly #headersByUpstream = new Map<string, ReadonlySet<string>>();

  constructor(upstreams: Readonly<Record<string, UpstreamConfig>>, templates: ReadonlyMap<string, SecretTemplate>) {
    for (const [name, up] of Object.entries(upstreams)) {
      const headers = new Set<string>();
      for (const [lane, cfg] of Object.entries(up.lanes)) {
        headers.add(cfg.header.toLowerCase());
        if (cfg.oauth) continue; // a just-in-time lane: src/credentials/jit-credentials.ts
        const template = templates.get(`${name}/${lane}`);
        if (!template) throw new WardenError('CONFIG_INVALID', `upstreams.${name}.lanes.${lane}: no credential template`);
        const id = `${name}/${lane}`;
        this.#lanes.set(id, { header: cfg.header.toLowerCase(), template, log: Object.freeze({ lane, kind: 'static', id }) });
      }
      this.#headersByUpstream.set(name, headers);
    }
  }

  /** Header names the lanes of this upstream use: stripped from what the agent sends. */
  headerNames(upstream: string): ReadonlySet<string> {
    return this.#headersByUpstream.get(upstream) ?? new Set();
  }

  has(upstream: string, lane: string): boolean {
    return this.#lanes.has(`${upstream}/${lane}`);
  }

  /** The credential of a lane; LANE_UNDEFINED when the upstream has no such lane. */
  resolve(upstream: string, lane: string): Credential {
    const entry = this.#lanes.get(`${upstream}/${lane}`);
    if (!entry) throw new WardenError('LANE_UNDEFINED', `${upstream} has no lane ${lane}`);
    try {
      return { header: entry.header, value: entry.template.resolve(), log: entry.log };
    } catch (err) {
      throw new WardenError('UPSTREAM_CREDENTIAL_UNAVAILABLE', toWardenError(err).detail ?? `${upstream}/${lane}`, { cause: err });
    }
  }
}
