// Server-to-client requests that Warden relayed (elicitation, sampling, roots, ping on an event
// stream of MCP 2025-11-25), remembered per session so that the client's later POSTed answer can
// be named to the policy: `input.mcp.method` of a `response` is the method it answered. Bounded:
// the oldest entries go first, and entries expire.

const MAX_ENTRIES = 10_000;
const TTL_MS = 15 * 60_000;

interface Entry {
  readonly method: string;
  readonly at: number;
}

export class ServerRequests {
  readonly #entries = new Map<string, Entry>();

  #key(session: string | undefined, id: string | number): string {
    return `${session ?? ''}\u0000${typeof id}:${String(id)}`;
  }

  /** A server request seen going to the client. */
  relayed(session: string | undefined, id: unknown, method: unknown, now = Date.now()): void {
    if ((typeof id !== 'string' && typeof id !== 'number') || typeof method !== 'string') return;
    const k = this.#key(session, id);
    this.#entries.delete(k);
    this.#entries.set(k, { method, at: now });
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** The method a client response answers (once), if Warden relayed that request. */
  answered(session: string | undefined, id: unknown, now = Date.now()): string | undefined {
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    const k = this.#key(session, id);
    const e = this.#entries.get(k);
    if (!e) return undefined;
    this.#entries.delete(k);
    return now - e.at > TTL_MS ? undefined : e.method;
  }
}
