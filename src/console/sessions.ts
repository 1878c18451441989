// Server-side console sessions. The cookie holds only a random id (256 bits); everything else —
// who signed in, the CSRF token, the expiry — stays here. Ids are kept by their SHA-256, so the
// map lookup's timing depends on the hash, not on how much of a guessed id is right.
// A visitor who has not signed in gets an anonymous session too: it carries the CSRF token of the
// sign-in form, so that POST is protected like every other. Signing in replaces it with a new id
// (no session fixation). Sessions live in this process: a restart signs everyone out.

import { createHash, randomBytes } from 'node:crypto';

export interface Session {
  /** The cookie value. */
  readonly id: string;
  /** Who signed in; undefined for the anonymous session of the sign-in form. */
  readonly approver: string | undefined;
  /** Required in every state-changing POST of this session. */
  readonly csrf: string;
  readonly expires: number;
  seen: number;
}

export interface SessionOptions {
  /** Absolute life of a signed-in session, ms. */
  readonly ttl: number;
  /** A session unused this long ends, ms. */
  readonly idle: number;
  readonly now?: () => number;
  /** Most sessions kept of each kind; the oldest go first. */
  readonly maxSignedIn?: number;
  readonly maxAnonymous?: number;
}

/** Anonymous sessions only carry the sign-in form's token: short-lived. */
const ANONYMOUS_TTL = 15 * 60_000;

const key = (id: string): string => createHash('sha256').update(id).digest('hex');
const randomId = (): string => randomBytes(32).toString('base64url');

export class ConsoleSessions {
  readonly #signedIn = new Map<string, Session>();
  readonly #anonymous = new Map<string, Session>();
  readonly #ttl: number;
  readonly #idle: number;
  readonly #now: () => number;
  readonly #maxSignedIn: number;
  readonly #maxAnonymous: number;

  constructor(opts: SessionOptions) {
    this.#ttl = opts.ttl;
    this.#idle = opts.idle;
    this.#now = opts.now ?? Date.now;
    this.#maxSignedIn = opts.maxSignedIn ?? 10_000;
    this.#maxAnonymous = opts.maxAnonymous ?? 1_000;
  }

  /** Seconds until a session of this kind ends at the latest (cookie Max-Age). */
  maxAgeSeconds(s: Session): number {
    return Math.max(0, Math.ceil((s.expires - this.#now()) / 1000));
  }

  anonymous(): Session {
    return this.#add(this.#anonymous, this.#maxAnonymous, undefined, ANONYMOUS_TTL);
  }

  /** A new session for `approver`; the session it replaces (the sign-in form's) ends. */
  signIn(approver: string, replaces: Session | undefined): Session {
    if (replaces) this.end(replaces);
    return this.#add(this.#signedIn, this.#maxSignedIn, approver, this.#ttl);
  }

  /** The live session of this cookie value, or undefined; a hit counts as use (idle timer). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const k = key(id);
    const now = this.#now();
    for (const map of [this.#signedIn, this.#anonymous]) {
      const s = map.get(k);
      if (!s) continue;
      if (s.expires <= now || now - s.seen >= this.#idle) {
        map.delete(k);
        return undefined;
      }
      s.seen = now;
      return s;
    }
    return undefined;
  }

  end(s: Session): void {
    const k = key(s.id);
    this.#signedIn.delete(k);
    this.#anonymous.delete(k);
  }

  #add(map: Map<string, Session>, max: number, approver: string | undefined, ttl: number): Session {
    const now = this.#now();
    this.#sweep(map, now);
    // Maps iterate in insertion order: the first key is the oldest session.
    while (map.size >= max) map.delete(map.keys().next().value!);
    const s: Session = { id: randomId(), approver, csrf: randomId(), expires: now + ttl, seen: now };
    map.set(key(s.id), s);
    return s;
  }

  #sweep(map: Map<string, Session>, now: number): void {
    for (const [k, s] of map) if (s.expires <= now || now - s.seen >= this.#idle) map.delete(k);
  }
}
