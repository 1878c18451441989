// Who is calling: the bearer token is verified and turned into `input.agent` (and `input.task`
// for Warden's own task tokens). The unverified `iss` only picks the verifier; nothing from the
// token is trusted before its signature, algorithm, iss, aud and times check out.

import { deepFreeze } from '../deep-freeze.js';
import { isoTimeFormatter } from '../iso-time.js';
import type { IncomingHttpHeaders } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
// jose by subpath: its index also loads JWE and key management, which Warden never uses.
import type { JWTPayload } from 'jose';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { decodeJwt } from 'jose/jwt/decode';
import { jwtVerify } from 'jose/jwt/verify';
import { WardenError, describeThrown } from '../errors.js';
import type { IssuerConfig, WardenConfig } from '../config/schema.js';
import type { AgentInput, TaskInput } from '../policy/types.js';
import { andThen, type Awaitable } from '../store/awaitable.js';
import type { TaskLookup, TaskRecord } from '../store/tasks.js';
import { parseBearer } from './bearer.js';
import { FileJwks, RemoteJwks, type JwksSource } from './jwks.js';
import type { TaskTokenClaims, TaskTokens } from './task-tokens.js';

export interface Principal {
  agent: AgentInput;
  task?: TaskInput;
  taskId?: string;
}

/** The agent registry as identity sees it (src/agents/agent-service.ts). */
export interface AgentDirectory {
  /** The registered agent of a task; undefined when unregistered agents are allowed. Throws AGENT_*. */
  forTask(agentId: string): Awaitable<RegisteredAgent | undefined>;
  /** The registered agent an external subject maps to, trying each issuer label in turn. */
  forSubject(issuers: readonly string[], subject: string): Awaitable<RegisteredAgent | undefined>;
}

export interface RegisteredAgent {
  readonly id: string;
  readonly owner: string;
  readonly status: 'active' | 'suspended' | 'retired';
  readonly scopes: readonly string[];
}

export interface AuthenticatorOptions {
  tokens: TaskTokens;
  /** Without it, every verified identity passes as it did before the registry (unit tests). */
  agents?: AgentDirectory;
  /** Directory that a relative `jwks_file` is taken from (the configuration file's). */
  baseDir?: string;
  /** Verified task tokens kept to skip signature checks (default 10 000). */
  cacheSize?: number;
  /** A JWKS URL unreachable at start is reported here; its first request retries. */
  onWarning?: (message: string) => void;
  now?: () => number;
}

interface External {
  cfg: IssuerConfig;
  jwks: JwksSource;
}

interface CachedTaskToken {
  /** The identity header exactly as it came with the token when the token was verified. */
  header: string;
  claims: Readonly<TaskTokenClaims>;
  expMs: number;
}

/**
 * Verified tokens are found by the last characters of the header that carried them (the token's
 * signature), then the whole header is compared: hashing a ~600-character token for a Map cost
 * more than the rest of a cached check (bench/HISTORY.md, eleventh session). An equal header is
 * the same token, so its syntax check and signature are not done again. Timing: the comparison is
 * reached only by a header that ends with a cached token's last 32 signature characters (192 bits),
 * which is what a forger lacks; a Map lookup of the whole token (before) compared it the same way.
 */
const CACHE_KEY_CHARS = 32;
const cacheKey = (header: string): string => header.slice(-CACHE_KEY_CHARS);

/** Compact JWS: three base64url parts. Bounded so that a huge header is refused before parsing. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16_384;

const invalid = (detail: string, cause?: unknown): WardenError => new WardenError('TOKEN_INVALID', detail, cause === undefined ? undefined : { cause });
const revoked = (detail: string): WardenError => new WardenError('TOKEN_REVOKED', detail);

export class Authenticator {
  private readonly verified = new Map<string, CachedTaskToken>();
  private readonly header: string;
  private readonly skewSec: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  private readonly agents: AgentDirectory | undefined;
  /** `input.agent` of a task token's claims with its registry record (see registeredAgent). */
  private readonly agentInputs = new WeakMap<object, { base: AgentInput; reg: RegisteredAgent; agent: AgentInput }>();
  private readonly tokenAgents = new WeakMap<object, AgentInput>();
  /** `expires_at` as ISO text; tasks end at a handful of distinct times, so the last one is kept. */
  private readonly isoTime = isoTimeFormatter();

  private constructor(
    private readonly config: WardenConfig,
    private readonly store: TaskLookup,
    private readonly tokens: TaskTokens,
    private readonly issuers: ReadonlyMap<string, External>,
    opts: AuthenticatorOptions,
  ) {
    this.header = config.identity.header.toLowerCase();
    this.skewSec = Math.floor(config.identity.clock_skew / 1000);
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.agents = opts.agents;
  }

  static async create(config: WardenConfig, store: TaskLookup, opts: AuthenticatorOptions): Promise<Authenticator> {
    const issuers = new Map<string, External>();
    const now = opts.now ?? Date.now;
    for (const [i, cfg] of config.identity.issuers.entries()) {
      const key = `identity.issuers[${i}]`;
      if (cfg.issuer === opts.tokens.issuer) throw new WardenError('CONFIG_INVALID', `${key}.issuer: ${cfg.issuer} is the issuer of task tokens`);
      if (issuers.has(cfg.issuer)) throw new WardenError('CONFIG_INVALID', `${key}.issuer: ${cfg.issuer} is configured twice`);
      if (cfg.spiffe && cfg.trust_domain !== undefined && !/^[a-z0-9._-]+$/.test(cfg.trust_domain)) {
        throw new WardenError('CONFIG_INVALID', `${key}.trust_domain: not a SPIFFE trust domain name`);
      }
      let jwks: JwksSource;
      if (cfg.jwks_url) {
        jwks = new RemoteJwks(cfg.jwks_url, { cacheMs: cfg.jwks_cache, now });
        // A remote issuer briefly down must not keep the sidecar from starting.
        await jwks.prime().catch((err: unknown) => opts.onWarning?.(`${key}: ${describeThrown(err)}`));
      } else if (cfg.jwks_file) {
        jwks = new FileJwks(isAbsolute(cfg.jwks_file) ? cfg.jwks_file : resolve(opts.baseDir ?? '.', cfg.jwks_file), { now });
        // A local file is under the operator's control: a broken one stops the start.
        await jwks.prime().catch((err: unknown) => {
          throw new WardenError('CONFIG_INVALID', `${key}.jwks_file: ${describeThrown(err)}`, { cause: err });
        });
      } else {
        throw new WardenError('CONFIG_INVALID', `${key}: set jwks_url or jwks_file`);
      }
      issuers.set(cfg.issuer, { cfg, jwks });
    }
    return new Authenticator(config, store, opts.tokens, issuers, opts);
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
    const raw = headers[this.header];
    if (typeof raw === 'string') {
      const key = cacheKey(raw);
      const cached = this.verified.get(key);
      if (cached !== undefined && cached.header === raw) {
        if (this.now() >= cached.expMs + this.skewSec * 1000) {
          this.verified.delete(key);
          throw new WardenError('TOKEN_EXPIRED', 'task token: exp has passed');
        }
        // Refresh the entry's place, so the oldest-used entry is the one evicted.
        this.verified.delete(key);
        this.verified.set(key, cached);
        return this.withAgent(this.taskPrincipal(cached.claims));
      }
    }
    const token = this.extract(raw);

    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalid('malformed: not a compact JWS');
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch (err) {
      throw invalid(`malformed: ${describeThrown(err)}`, err);
    }
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw invalid(`algorithm ${String(alg)} is never accepted`);
    if (typeof iss !== 'string') throw invalid('malformed: no iss claim');

    if (iss === this.tokens.issuer) {
      if (alg !== this.tokens.algorithm) throw invalid(`task token: algorithm ${alg} not allowed`);
      const claims = await this.verifyTaskToken(token, raw as string);
      return this.withAgent(this.taskPrincipal(claims));
    }
    const ext = this.issuers.get(iss);
    if (!ext) throw invalid(`unknown issuer ${JSON.stringify(iss.slice(0, 100))}`);
    if (!(ext.cfg.algorithms as readonly string[]).includes(alg)) throw invalid(`issuer ${ext.cfg.name}: algorithm ${alg} not allowed`);
    return this.externalPrincipal(token, ext);
  }

  /** Forgets verified tokens; no timers or sockets are held. Safe to call twice. */
  close(): void {
    this.verified.clear();
  }

  /** The token of the `identity.header` value: `Bearer <token>` (any case), or the bare token in a custom header. */
  private extract(raw: string | string[] | undefined): string {
    const read = parseBearer(raw, { bare: this.header !== 'authorization' });
    if (read.kind === 'missing') throw new WardenError('TOKEN_MISSING', `${this.header}: ${read.why}`);
    if (read.kind === 'invalid') throw invalid(`${this.header}: ${read.why}`);
    return read.token;
  }


  /** `header`: the identity header the token came in (a string: extract() refused anything else). */
  private async verifyTaskToken(token: string, header: string): Promise<Readonly<TaskTokenClaims>> {
    let claims: TaskTokenClaims;
    try {
      claims = await this.tokens.verify(token, this.skewSec, new Date(this.now()));
    } catch (err) {
      throw toTokenError(err, 'task token');
    }
    this.checkTimes(claims, this.config.identity.task_tokens.max_ttl, 'task token');
    const frozen = Object.freeze(claims);
    const key = cacheKey(header);
    // A header of the same token in another form (scheme case, whitespace) replaces its entry:
    // nothing else is evicted for it.
    if (!this.verified.delete(key) && this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(key, { header, claims: frozen, expMs: claims.exp * 1000 });
    return frozen;
  }

  /** `input.agent` of a task gets the registry's owner, status and scopes; a refused agent throws. */
  private withAgent(p: Awaitable<Principal>): Awaitable<Principal> {
    const agents = this.agents;
    if (!agents) return p;
    return andThen(p, (principal) => andThen(agents.forTask(principal.agent.id), (reg) => (reg ? { ...principal, agent: this.registeredAgent(principal.agent, reg) } : principal)));
  }

  /** `input.agent` with the registry's fields, built again only when the token or the registry record changes. */
  private registeredAgent(agent: AgentInput, reg: RegisteredAgent): AgentInput {
    const claims = agent.claims as object;
    const hit = this.agentInputs.get(claims);
    if (hit && hit.reg === reg && hit.base.id === agent.id && hit.base.issuer === agent.issuer) return hit.agent;
    const built = deepFreeze(withRegistry(agent, reg));
    this.agentInputs.set(claims, { base: agent, reg, agent: built });
    return built;
  }

  /**
   * Always read from the store: revocation and stage changes apply to the very next request. A
   * store that answers from memory costs no microtask turn here (andThen).
   */
  private taskPrincipal(claims: Readonly<TaskTokenClaims>): Awaitable<Principal> {
    return andThen(this.store.tasks.get(claims.tid), (rec) => {
      const live = this.liveTask(claims, rec);
      return andThen(this.store.usage.usage(live.id, live.stage), (usage) => {
        const task: TaskInput = {
          id: live.id,
          stage: live.stage,
          risk: live.risk,
          user: live.user,
          scopes: live.scopes as string[],
          expires_at: this.isoTime(live.expires_at),
          usage,
        };
        return { agent: this.tokenAgent(claims), task, taskId: live.id };
      });
    });
  }

  /** `input.agent` of a task token, one frozen object per verified token (its JSON is then made once: proxy/request-input.ts). */
  private tokenAgent(claims: Readonly<TaskTokenClaims>): AgentInput {
    let agent = this.tokenAgents.get(claims);
    if (agent === undefined) this.tokenAgents.set(claims, (agent = Object.freeze({ id: claims.sub, issuer: this.tokens.issuer, claims })));
    return agent;
  }

  private liveTask(claims: Readonly<TaskTokenClaims>, rec: TaskRecord | undefined): TaskRecord {
    if (!rec) throw revoked(`task ${claims.tid} is unknown`);
    if (rec.revoked_at !== undefined) throw revoked(`task ${rec.id} was revoked`);
    if (this.now() >= rec.expires_at) throw revoked(`task ${rec.id} has ended`);
    if (rec.agent !== claims.sub) throw invalid(`task token: sub does not match the agent of task ${rec.id}`);
    return rec;
  }

  private async externalPrincipal(token: string, ext: External): Promise<Principal> {
    const { cfg } = ext;
    const label = `issuer ${cfg.name}`;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, ext.jwks.getKey, {
        issuer: cfg.issuer,
        audience: [...cfg.audiences],
        algorithms: [...cfg.algorithms],
        clockTolerance: this.skewSec,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      throw toTokenError(err, label);
    }
    this.checkTimes(claims, cfg.max_lifetime, label);
    if (cfg.spiffe) checkSpiffeId(claims.sub, cfg.trust_domain, label);
    // A registered agent is found by its external subject (issuer + sub), never by a claim the
    // issuer's other clients could also set.
    const registered = this.agents ? await this.agents.forSubject([cfg.issuer, cfg.name], typeof claims.sub === 'string' ? claims.sub : '') : undefined;
    if (registered) return { agent: withRegistry({ id: registered.id, issuer: cfg.name, claims: Object.freeze(claims) }, registered) };
    const id = claims[cfg.agent_claim];
    if (typeof id !== 'string' || id === '') throw invalid(`${label}: claim ${cfg.agent_claim} is not a non-empty string`);
    return { agent: { id, issuer: cfg.name, claims: Object.freeze(claims) } };
  }

  /** QUIRK(jose): iat is checked only with maxTokenAge, so a future iat and a too-long life are refused here. */
  private checkTimes(claims: JWTPayload, maxLifetimeMs: number, label: string): void {
    const nowSec = this.now() / 1000;
    const exp = claims.exp!;
    if (claims.iat !== undefined && claims.iat > nowSec + this.skewSec) throw invalid(`${label}: iat is in the future`);
    // Without iat, bound what is left of the token's life instead.
    const lifetime = exp - (claims.iat ?? nowSec);
    if (lifetime > maxLifetimeMs / 1000 + (claims.iat === undefined ? this.skewSec : 0)) {
      throw invalid(`${label}: lifetime ${Math.round(lifetime)}s exceeds ${maxLifetimeMs / 1000}s`);
    }
  }
}

function withRegistry(agent: AgentInput, reg: RegisteredAgent | undefined): AgentInput {
  return reg ? { ...agent, owner: reg.owner, status: reg.status, scopes: [...reg.scopes] } : agent;
}

/** A JWT-SVID names a SPIFFE id in `sub`: spiffe://<trust domain>/<path>. */
function checkSpiffeId(sub: unknown, trustDomain: string | undefined, label: string): void {
  if (typeof sub !== 'string') throw invalid(`${label}: JWT-SVID without sub`);
  const m = /^spiffe:\/\/([^/?#]+)(\/[^?#]*)$/.exec(sub);
  if (!m || m[2] === '/') throw invalid(`${label}: sub is not a SPIFFE id`);
  if (trustDomain !== undefined && m[1] !== trustDomain) throw invalid(`${label}: SPIFFE id outside trust domain ${trustDomain}`);
}

/** jose's errors carry a stable `code`; each maps to one coded error with a detail for logs. */
export function toTokenError(err: unknown, label: string): WardenError {
  if (err instanceof WardenError) return err;
  const e = err as { code?: string; claim?: string; message?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return new WardenError('TOKEN_EXPIRED', `${label}: exp has passed`, { cause: err });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return invalid(`${label}: claim ${e.claim ?? '?'}: ${e.message ?? 'check failed'}`, err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid(`${label}: signature does not verify`, err);
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid(`${label}: no single key matches the kid`, err);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid(`${label}: algorithm not allowed`, err);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid(`${label}: malformed: ${e.message ?? ''}`, err);
    case 'ERR_JWKS_TIMEOUT':
      return new WardenError('JWKS_UNAVAILABLE', `${label}: key set fetch timed out`, { cause: err });
    default:
      return invalid(`${label}: ${describeThrown(err)}`, err);
  }
}
