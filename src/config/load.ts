// YAML → schema with defaults → frozen object (src/config/validate.ts). Secrets are resolved at
// load (a missing variable or file stops the start) and kept as templates where they may rotate
// (lanes); that they are references at all is checked by the schema.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WardenError, describeThrown } from '../errors.js';
import type { WardenConfig } from './schema.js';
import { SecretTemplate } from './secrets.js';
import { validateConfig } from './validate.js';

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

/** Command-line overrides of DESIGN.md: `--listen`, `--admin-listen`. */
export interface ConfigOverrides {
  readonly listen?: string;
  readonly adminListen?: string;
}

export function loadConfigFile(file: string, overrides: ConfigOverrides = {}): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `cannot read ${file}`, { cause: err });
  }
  return loadConfigText(text, dirname(resolve(file)), overrides);
}

export function loadConfigText(text: string, baseDir: string, overrides: ConfigOverrides = {}): LoadedConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `YAML: ${describeThrown(err).split('\n')[0]}`, { cause: err });
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new WardenError('CONFIG_INVALID', '(root): expected a mapping');
  const doc = raw as Record<string, unknown>;
  if (overrides.listen) doc.listen = overrides.listen;
  if (overrides.adminListen) doc.admin = { ...(typeof doc.admin === 'object' && doc.admin !== null ? doc.admin : {}), listen: overrides.adminListen };
  const config = validateConfig(doc);
  checkCrossKeys(config);

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

function checkCrossKeys(config: WardenConfig): void {
  const prefixes = new Map<string, string>();
  for (const [name, up] of Object.entries(config.upstreams)) {
    const other = prefixes.get(up.prefix);
    if (other) throw new WardenError('CONFIG_INVALID', `upstreams.${name}.prefix: ${up.prefix} is already used by upstreams.${other}`);
    prefixes.set(up.prefix, name);
    for (const [laneName, lane] of Object.entries(up.lanes)) {
      if ((lane.value === undefined) === (lane.oauth === undefined)) throw new WardenError('CONFIG_INVALID', `upstreams.${name}.lanes.${laneName}: set exactly one of value and oauth`);
    }
  }
  config.identity.issuers.forEach((iss, i) => {
    if (!iss.jwks_url === !iss.jwks_file) throw new WardenError('CONFIG_INVALID', `identity.issuers[${i}]: set exactly one of jwks_url and jwks_file`);
  });
  const stages = new Set(config.tasks.stages);
  for (const [from, tos] of Object.entries(config.tasks.transitions)) {
    if (!stages.has(from)) throw new WardenError('CONFIG_INVALID', `tasks.transitions.${from}: not a stage in tasks.stages`);
    for (const to of tos) if (!stages.has(to)) throw new WardenError('CONFIG_INVALID', `tasks.transitions.${from}: ${to} is not a stage in tasks.stages`);
  }
  for (const [key, svc] of [['policy.service.polling', config.policy.service?.polling], ['decision_log.service', config.decision_log.service]] as const) {
    if (svc && svc.min_delay > svc.max_delay) throw new WardenError('CONFIG_INVALID', `${key}.min_delay: exceeds max_delay`);
  }
  const verification = config.policy.verification;
  if (verification) {
    const ids = Object.keys(verification.keys);
    if (ids.length === 0) throw new WardenError('CONFIG_INVALID', 'policy.verification.keys: needs at least one key');
    if (verification.key_id !== undefined && !ids.includes(verification.key_id)) throw new WardenError('CONFIG_INVALID', `policy.verification.key_id: ${verification.key_id} is not in policy.verification.keys`);
  }
  if (config.identity.task_tokens.default_ttl > config.identity.task_tokens.max_ttl) {
    throw new WardenError('CONFIG_INVALID', 'identity.task_tokens.default_ttl: exceeds max_ttl');
  }
}
