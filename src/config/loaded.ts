// The loaded configuration: the validated configuration (src/config/load.ts) with its secrets
// resolved. Apart from load.ts so that resolving needs neither YAML nor TypeBox: \`warden run\`
// validates in a worker thread (load-isolated.ts) and resolves here, in the process that keeps them.

import { WardenError } from '../errors.js';
import type { WardenConfig } from './schema.js';
import { SecretTemplate } from './secrets.js';

export interface LoadedConfig {
  readonly config: WardenConfig;
  /** Directory of the configuration file: relative paths in it are taken from here. */
  readonly baseDir: string;
  /** Resolved secrets that do not rotate (admin token, console approver tokens by name, webhook secret). */
  readonly secrets: { readonly adminToken: string; readonly approvers: ReadonlyMap<string, string>; readonly webhookSecret: string | undefined };
  /** Bearer tokens of the bundle server and log collector, resolved per request; verification keys, resolved. */
  readonly services: ServiceSecrets;
  /** The Redis URL of `store.kind: redis`, resolved. */
  readonly storeUrl: string | undefined;
  /** Lane templates by `upstream/lane`, resolved on each use so rotated files take effect. */
  readonly lanes: ReadonlyMap<string, SecretTemplate>;
  /** Client secrets of `oauth` lanes by `upstream/lane`, resolved on each use likewise. */
  readonly oauthSecrets: ReadonlyMap<string, SecretTemplate>;
}

export interface ServiceSecrets {
  readonly bundleToken: SecretTemplate | undefined;
  readonly logToken: SecretTemplate | undefined;
  readonly verificationKeys: Readonly<Record<string, string>>;
}

/** Resolves the secrets of a validated configuration; a missing variable or file stops the start. */
export function withSecrets(config: WardenConfig, baseDir: string): LoadedConfig {
  const adminToken = new SecretTemplate(config.admin.token, baseDir, 'admin.token').resolve();
  if (adminToken.length < 16) throw new WardenError('CONFIG_INVALID', 'admin.token: the resolved token must be at least 16 characters');
  const approvers = resolveApprovers(config, baseDir, adminToken);
  const webhookSecret = config.step_up.webhook ? new SecretTemplate(config.step_up.webhook.secret, baseDir, 'step_up.webhook.secret').resolve() : undefined;
  const lanes = new Map<string, SecretTemplate>();
  const oauthSecrets = new Map<string, SecretTemplate>();
  for (const [name, up] of Object.entries(config.upstreams)) {
    for (const [laneName, lane] of Object.entries(up.lanes)) {
      const [template, into] = lane.oauth ? [lane.oauth.client_secret, oauthSecrets] : [lane.value!, lanes];
      const t = new SecretTemplate(template, baseDir, `upstreams.${name}.lanes.${laneName}.${lane.oauth ? 'oauth.client_secret' : 'value'}`);
      t.resolve(); // fail at start, not on the first request
      into.set(`${name}/${laneName}`, t);
    }
  }
  return Object.freeze({ config, baseDir, secrets: Object.freeze({ adminToken, approvers, webhookSecret }), services: resolveServiceSecrets(config, baseDir), storeUrl: resolveStoreUrl(config, baseDir), lanes, oauthSecrets });
}

function resolveStoreUrl(config: WardenConfig, baseDir: string): string | undefined {
  const { kind, url } = config.store;
  if (kind !== 'redis') return undefined;
  if (url === undefined) throw new WardenError('CONFIG_INVALID', 'store.url: required with store.kind: redis');
  const resolved = url.includes('${') ? new SecretTemplate(url, baseDir, 'store.url').resolve() : url;
  let parsed: URL;
  try {
    parsed = new URL(resolved);
  } catch {
    throw new WardenError('CONFIG_INVALID', 'store.url: not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new WardenError('CONFIG_INVALID', 'store.url: must be redis:// or rediss://');
  if (parsed.password && !url.includes('${')) throw new WardenError('CONFIG_INVALID', 'store.url: a URL with a password must be a ${env:NAME} or ${file:PATH} reference');
  return resolved;
}

function resolveServiceSecrets(config: WardenConfig, baseDir: string): ServiceSecrets {
  const template = (value: string | undefined, where: string): SecretTemplate | undefined => {
    if (value === undefined) return undefined;
    const t = new SecretTemplate(value, baseDir, where);
    t.resolve(); // fail at start, not on the first poll
    return t;
  };
  const verificationKeys: Record<string, string> = {};
  for (const [id, k] of Object.entries(config.policy.verification?.keys ?? {})) {
    verificationKeys[id] = new SecretTemplate(k.key, baseDir, `policy.verification.keys.${id}.key`).resolve();
  }
  return Object.freeze({
    bundleToken: template(config.policy.service?.credentials?.bearer, 'policy.service.credentials.bearer'),
    logToken: template(config.decision_log.service?.credentials?.bearer, 'decision_log.service.credentials.bearer'),
    verificationKeys: Object.freeze(verificationKeys),
  });
}

/** The console's sign-in name of the admin token; no approver may take it. */
export const ADMIN_APPROVER = 'admin';

// Every token must name exactly one person: a token shared by two names (or with the admin token)
// would record the wrong approver.
function resolveApprovers(config: WardenConfig, baseDir: string, adminToken: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>([adminToken]);
  for (const [name, template] of Object.entries(config.admin.approvers)) {
    const where = `admin.approvers.${name}`;
    if (name === ADMIN_APPROVER) throw new WardenError('CONFIG_INVALID', `${where}: the name ${ADMIN_APPROVER} is the admin token's`);
    const token = new SecretTemplate(template, baseDir, where).resolve();
    if (token.length < 16) throw new WardenError('CONFIG_INVALID', `${where}: the resolved token must be at least 16 characters`);
    if (seen.has(token)) throw new WardenError('CONFIG_INVALID', `${where}: the token is also used by the admin token or another approver`);
    seen.add(token);
    out.set(name, token);
  }
  return out;
}
