// Task tokens: short-lived JWTs that Warden signs for one task. The agent holds only this token;
// the key stays with Warden. Without `key_file` a key is generated once into state_dir and
// reused, so tokens handed out before a restart keep verifying. A fleet sidecar holds no task
// key at all (`TaskTokens.verifier`): it verifies with the keys that `warden control` publishes,
// and signs its token-exchange assertions with a key of its own that can sign nothing else.

import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
// jose by subpath: its index also loads JWE and key management, which Warden never uses.
import type { JWK, JWTPayload } from 'jose';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { SignJWT } from 'jose/jwt/sign';
import { jwtVerify } from 'jose/jwt/verify';
import { exportJWK } from 'jose/key/export';
import { WardenError } from '../errors.js';
import type { WardenConfig } from '../config/schema.js';

export type TaskTokenAlgorithm = 'EdDSA' | 'ES256';

export const GENERATED_KEY_FILE = 'task-signing-key.pem';

export interface TaskTokenClaims extends JWTPayload {
  iss: string;
  aud: string | string[];
  sub: string;
  tid: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
}

export interface TaskTokensOptions {
  /** Directory that a relative `key_file` is taken from (the configuration file's). */
  baseDir?: string;
}

/** A key pair with its JWK thumbprint. */
interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

async function signingKey(privateKey: KeyObject): Promise<SigningKey> {
  const publicKey = createPublicKey(privateKey);
  return { kid: await calculateJwkThumbprint(await exportJWK(publicKey)), privateKey, publicKey };
}

function generateKey(algorithm: TaskTokenAlgorithm): KeyObject {
  return (algorithm === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })).privateKey;
}

export class TaskTokens {
  private constructor(
    readonly algorithm: TaskTokenAlgorithm,
    readonly issuer: string,
    readonly audience: string,
    /** The task-token key; absent on a fleet sidecar, which only verifies. */
    private readonly taskKey: SigningKey | undefined,
    /** Signs token-exchange assertions: the task key, or a fleet sidecar's own assertion key. */
    private readonly assertionKey: SigningKey,
  ) {}

  static async create(config: WardenConfig, opts: TaskTokensOptions = {}): Promise<TaskTokens> {
    const tt = config.identity.task_tokens;
    const privateKey = tt.key_file
      ? loadKey(isAbsolute(tt.key_file) ? tt.key_file : resolve(opts.baseDir ?? '.', tt.key_file), tt.algorithm, 'identity.task_tokens.key_file')
      : loadOrGenerateKey(config.state_dir, tt.algorithm);
    const key = await signingKey(privateKey);
    return new TaskTokens(tt.algorithm, tt.issuer, tt.audience, key, key);
  }

  /**
   * A fleet sidecar's tokens: no task-signing key (none is read or generated); task tokens verify
   * with the keys the control plane publishes (`trust`). Token-exchange assertions are signed with
   * a key generated in memory for this process, which the fleet's key ring publishes for
   * assertions only: a task token signed with it is refused.
   */
  static async verifier(config: WardenConfig): Promise<TaskTokens> {
    const tt = config.identity.task_tokens;
    return new TaskTokens(tt.algorithm, tt.issuer, tt.audience, undefined, await signingKey(generateKey(tt.algorithm)));
  }

  /** The task-signing key's id; undefined when this process signs no task tokens. */
  get kid(): string | undefined {
    return this.taskKey?.kid;
  }

  /** Public keys of other signers of this fleet (kid → key), from the store's key ring. */
  #trusted = new Map<string, KeyObject>();

  /** Verify tokens signed with these published keys too (fleet mode); replaces the previous set. */
  trust(keys: readonly { kid: string; jwk: Readonly<Record<string, unknown>> }[]): void {
    const next = new Map<string, KeyObject>();
    for (const k of keys) {
      if (k.kid === this.taskKey?.kid) continue;
      try {
        next.set(k.kid, createPublicKey({ key: k.jwk as import('node:crypto').JsonWebKey, format: 'jwk' }));
      } catch {
        // A malformed published key verifies nothing.
      }
    }
    this.#trusted = next;
  }

  /** Signs a token for `tid`, valid from `iatSec` until `expSec` (epoch seconds). */
  async sign(agent: string, tid: string, iatSec: number, expSec: number): Promise<string> {
    const key = this.taskKey;
    if (!key) throw new WardenError('TASK_SIGNER_ELSEWHERE', 'this fleet sidecar holds no task-signing key');
    return new SignJWT({ tid })
      .setProtectedHeader({ alg: this.algorithm, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(agent)
      .setIssuedAt(iatSec)
      .setNotBefore(iatSec)
      .setExpirationTime(expSec)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /**
   * A short-lived assertion for an authorization server (the subject and actor tokens of RFC 8693
   * token exchange). It cannot pass as a task token: its audience is the server's and it has no
   * `tid`.
   */
  async signAssertion(sub: string, aud: string, claims: Record<string, unknown>, ttlSec: number, nowMs = Date.now()): Promise<string> {
    const iat = Math.floor(nowMs / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, kid: this.assertionKey.kid, typ: 'assertion+jwt' })
      .setIssuer(this.issuer)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSec)
      .setJti(randomUUID())
      .sign(this.assertionKey.privateKey);
  }

  /**
   * Verifies signature, iss, aud, nbf and exp; throws jose's errors (the authenticator maps
   * them to coded errors). The caller has checked the protected header already.
   */
  async verify(token: string, clockSkewSec: number, now?: Date): Promise<TaskTokenClaims> {
    const kid = decodeProtectedHeader(token).kid;
    const own = this.taskKey;
    const key = own && (kid === undefined || kid === own.kid) ? own.publicKey : kid === undefined ? undefined : this.#trusted.get(kid);
    if (!key) throw new WardenError('TOKEN_INVALID', 'task token: signed with an unknown key');
    const { payload } = await jwtVerify(token, key, {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: [this.algorithm],
      clockTolerance: clockSkewSec,
      requiredClaims: ['sub', 'tid', 'iat', 'nbf', 'exp', 'jti'],
      ...(now ? { currentDate: now } : {}),
    });
    if (typeof payload.tid !== 'string' || payload.tid === '') throw new WardenError('TOKEN_INVALID', 'task token: tid claim is not a string');
    return payload as TaskTokenClaims;
  }

  /** The task-signing public key as a JWK (with kid), for the fleet's key ring; undefined on a fleet sidecar. */
  async publicJwk(): Promise<JWK | undefined> {
    return this.taskKey && this.jwk(this.taskKey);
  }

  /** The public key of token-exchange assertions as a JWK (with kid), for the JWKS endpoint. */
  async assertionJwk(): Promise<JWK> {
    return this.jwk(this.assertionKey);
  }

  private async jwk(k: SigningKey): Promise<JWK> {
    return { ...(await exportJWK(k.publicKey)), kid: k.kid, alg: this.algorithm, use: 'sig' };
  }
}

function loadKey(file: string, algorithm: TaskTokenAlgorithm, key: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `${key}: cannot read ${file}`, { cause: err });
  }
  let k: KeyObject;
  try {
    k = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `${key}: ${file} is not a PKCS#8 PEM private key`, { cause: err });
  }
  if (!fitsAlgorithm(k, algorithm)) {
    throw new WardenError('CONFIG_INVALID', `${key}: ${file} holds a ${describeKey(k)} key, which cannot sign ${algorithm} (identity.task_tokens.algorithm)`);
  }
  return k;
}

function loadOrGenerateKey(stateDir: string, algorithm: TaskTokenAlgorithm): KeyObject {
  const file = join(stateDir, GENERATED_KEY_FILE);
  const label = `state_dir (${GENERATED_KEY_FILE})`;
  if (existsSync(file)) return loadKey(file, algorithm, label);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const privateKey = generateKey(algorithm);
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  try {
    // `wx`: never overwrite a key written meanwhile by another process; tokens in circulation
    // may be signed with it.
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    return privateKey;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new WardenError('CONFIG_INVALID', `state_dir: cannot write ${file}`, { cause: err });
    }
  }
  return loadKey(file, algorithm, label);
}

function fitsAlgorithm(k: KeyObject, algorithm: TaskTokenAlgorithm): boolean {
  if (algorithm === 'EdDSA') return k.asymmetricKeyType === 'ed25519';
  return k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function describeKey(k: KeyObject): string {
  return k.asymmetricKeyDetails?.namedCurve ? `${k.asymmetricKeyType}/${k.asymmetricKeyDetails.namedCurve}` : String(k.asymmetricKeyType ?? k.type);
}
