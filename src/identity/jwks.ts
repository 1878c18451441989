// Signing keys of an external issuer. A URL is fetched and trusted for `jwks_cache`; a token
// whose `kid` is unknown triggers a refetch (the issuer rotated its keys), at most once per
// cooldown so that tokens with made-up kids cannot turn Warden into a fetch loop. A file is
// re-read when its mtime or size changes. Keys are matched by jose's createLocalJWKSet.

import { stat, readFile } from 'node:fs/promises';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet } from 'jose/jwks/local';
import { request, type Dispatcher } from 'undici';
import { WardenError, describeThrown } from '../errors.js';

export interface JwksSource {
  /** A jose key resolver; throws JWKS_UNAVAILABLE when no key set could ever be loaded. */
  readonly getKey: JWTVerifyGetKey;
  /** Loads the set once ahead of the first request. */
  prime(): Promise<void>;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

const MAX_JWKS_BYTES = 1 << 20;

/** Loads the set, and again on an unknown kid (rotation) when the loader agrees. */
abstract class CachedJwks implements JwksSource {
  private set: LocalSet | undefined;
  private loading: Promise<void> | undefined;
  private lastAttempt = -Infinity;

  constructor(
    protected readonly label: string,
    private readonly cooldownMs: number,
    protected readonly now: () => number,
  ) {}

  protected abstract isStale(): boolean | Promise<boolean>;
  protected abstract load(): Promise<JSONWebKeySet>;

  prime(): Promise<void> {
    return this.reload(true);
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.set) await this.reload(false);
    // A stale set keeps serving while the refresh runs: no request waits on the issuer.
    else if (await this.isStale()) void this.reload(false);
    const set = this.set;
    if (!set) throw new WardenError('JWKS_UNAVAILABLE', `${this.label}: no key set loaded`);
    try {
      return await set(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      // Unknown kid: the issuer may have rotated. Refetch (rate-limited) and look once more.
      await this.reload(false);
      if (this.set === set) throw err;
      return this.set!(header, token);
    }
  };

  /** One load at a time; failures keep the previous set (availability over a brief outage). */
  private reload(force: boolean): Promise<void> {
    if (this.loading) return this.loading;
    if (!force && this.now() - this.lastAttempt < this.cooldownMs) return Promise.resolve();
    this.lastAttempt = this.now();
    this.loading = this.load()
      .then((jwks) => {
        this.set = createLocalJWKSet(jwks);
        this.loaded();
      })
      .catch((err: unknown) => {
        if (force || !this.set) throw new WardenError('JWKS_UNAVAILABLE', `${this.label}: ${describeThrown(err)}`, { cause: err });
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  protected loaded(): void {}
}

export interface RemoteJwksOptions {
  /** How long a fetched set is trusted (issuer `jwks_cache`). */
  cacheMs: number;
  /** Least time between two fetches. */
  cooldownMs?: number;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  now?: () => number;
}

export class RemoteJwks extends CachedJwks {
  private fetchedAt = -Infinity;

  constructor(
    private readonly url: string,
    private readonly opts: RemoteJwksOptions,
  ) {
    super(`jwks_url ${url}`, opts.cooldownMs ?? 1000, opts.now ?? Date.now);
  }

  protected isStale(): boolean {
    return this.now() - this.fetchedAt >= this.opts.cacheMs;
  }

  protected override loaded(): void {
    this.fetchedAt = this.now();
  }

  protected async load(): Promise<JSONWebKeySet> {
    const timeout = this.opts.timeoutMs ?? 5000;
    const res = await request(this.url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    const text = await res.body.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error('key set larger than 1 MiB');
    return JSON.parse(text) as JSONWebKeySet;
  }
}

export class FileJwks extends CachedJwks {
  private version = '';

  constructor(
    private readonly file: string,
    opts: { cooldownMs?: number; now?: () => number } = {},
  ) {
    super(`jwks_file ${file}`, opts.cooldownMs ?? 1000, opts.now ?? Date.now);
  }

  private lastCheck = -Infinity;

  /** A stat at most once per second: cheap enough beside signature verification. */
  protected async isStale(): Promise<boolean> {
    if (this.now() - this.lastCheck < 1000) return false;
    this.lastCheck = this.now();
    try {
      return (await this.stamp()) !== this.version;
    } catch {
      return false; // a file being replaced; keep the loaded set
    }
  }

  protected async load(): Promise<JSONWebKeySet> {
    const version = await this.stamp();
    const jwks = JSON.parse(await readFile(this.file, 'utf8')) as JSONWebKeySet;
    this.version = version;
    return jwks;
  }

  private async stamp(): Promise<string> {
    const s = await stat(this.file);
    return `${s.mtimeMs}:${s.size}`;
  }
}
