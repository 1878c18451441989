// YAML → schema with defaults → frozen object (src/config/validate.ts). Secrets are resolved at
// load (loaded.ts: a missing variable or file stops the start) and kept as templates where they may
// rotate (lanes); that they are references at all is checked by the schema.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WardenError, describeThrown } from '../errors.js';
import type { WardenConfig } from './schema.js';
import { withSecrets, type LoadedConfig } from './loaded.js';
import { validateConfig } from './validate.js';

export type { LoadedConfig, ServiceSecrets } from './loaded.js';

/** Command-line overrides of DESIGN.md: `--listen`, `--admin-listen`. */
export interface ConfigOverrides {
  readonly listen?: string;
  readonly adminListen?: string;
}

export function loadConfigFile(file: string, overrides: ConfigOverrides = {}): LoadedConfig {
  const { config, baseDir } = readConfigFile(file, overrides);
  return withSecrets(config, baseDir);
}

export function loadConfigText(text: string, baseDir: string, overrides: ConfigOverrides = {}): LoadedConfig {
  return withSecrets(readConfigText(text, overrides), baseDir);
}

/** The validated configuration of `file` and its directory, secrets not resolved (load-thread.ts). */
export function readConfigFile(file: string, overrides: ConfigOverrides = {}): { config: WardenConfig; baseDir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WardenError('CONFIG_INVALID', `cannot read ${file}`, { cause: err });
  }
  return { config: readConfigText(text, overrides), baseDir: dirname(resolve(file)) };
}

function readConfigText(text: string, overrides: ConfigOverrides): WardenConfig {
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
  return config;
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
