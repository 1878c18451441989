import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { configReference } from '../../../src/config/reference.js';
import { parseDuration } from '../../../src/config/duration.js';

process.env.UNIT_ADMIN_TOKEN = 'unit-admin-token-0123456789';
process.env.UNIT_APPROVER_A = 'unit-approver-alice-0123456789';
const MINIMAL = "admin: { token: '${env:UNIT_ADMIN_TOKEN}' }\n";

function load(yaml: string) {
  return loadConfigText(yaml, tmpdir());
}

function fault(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('fills every default (a changed default is a visible decision)', () => {
    const { config } = load(MINIMAL);
    expect(config).toEqual({
      listen: '127.0.0.1:8080',
      allowed_origins: [],
      state_dir: '.warden',
      admin: { listen: '127.0.0.1:8181', token: '${env:UNIT_ADMIN_TOKEN}', approvers: {}, session_ttl: 28800000, session_idle: 1800000, write_api: true },
      policy: { bundle: 'bundles/warden.tar.gz', entrypoint: 'warden/decision', mode: 'enforce', max_body_bytes: 1048576, max_json_depth: 64, max_memory_pages: 512, watch: true, poll_interval: 1000 },
      upstreams: {},
      identity: {
        header: 'authorization',
        clock_skew: 30000,
        task_tokens: { algorithm: 'EdDSA', issuer: 'warden', audience: 'warden', default_ttl: 900000, max_ttl: 28800000 },
        issuers: [],
        registered_agents_only: true,
      },
      agents: { stale_after: 2592000000 },
      tasks: { stages: ['plan', 'execute', 'review', 'done'], risks: ['low', 'medium', 'high'], transitions: {} },
      step_up: { hold: 0, ttl: 600000, retry_after: 5000, body_preview_bytes: 0 },
      decision_log: { path: 'stdout', mask: [], max_body_bytes: 65536, level: 'info' },
      store: { kind: 'sqlite', prefix: 'warden:', max_staleness: 1000 },
    });
  });

  it('resolves the admin token but never keeps it in the config object', () => {
    const loaded = load(MINIMAL);
    expect(loaded.secrets.adminToken).toBe('unit-admin-token-0123456789');
    expect(JSON.stringify(loaded.config)).not.toContain('unit-admin-token');
  });

  it.each([
    ['an unknown top-level key', `${MINIMAL}listen_addr: x\n`, /listen_addr: unknown key/],
    ['an unknown nested key', `${MINIMAL}policy: { bundel: x }\n`, /policy\.bundel: unknown key/],
    ['a wrong enum', `${MINIMAL}policy: { mode: audit }\n`, /policy\.mode: expected one of enforce, dry-run/],
    ['a bad duration', `${MINIMAL}upstreams: { gh: { prefix: /gh, url: 'http://x', timeout: soon } }\n`, /upstreams\.gh\.timeout: expected a duration/],
    ['a missing required key', `${MINIMAL}upstreams: { gh: { prefix: /gh } }\n`, /upstreams\.gh\.url: is required/],
    ['a literal secret', "admin: { token: 'literal-token-0123456789' }\n", /admin\.token: a secret must come from/],
    ['a literal lane secret', `${MINIMAL}upstreams: { gh: { prefix: /gh, url: 'http://x', lanes: { read: { header: authorization, value: 'Bearer abc' } } } }\n`, /lanes\.read\.value: a secret must come from/],
    ['an unset variable', "admin: { token: '${env:NOPE_NOT_SET_1}' }\n", /CONFIG_SECRET_UNRESOLVED.*NOPE_NOT_SET_1/],
    ['a missing secret file', "admin: { token: '${file:/nonexistent/token}' }\n", /CONFIG_SECRET_UNRESOLVED.*\/nonexistent\/token/],
    ['a duplicate prefix', `${MINIMAL}upstreams: { a: { prefix: /x, url: 'http://a' }, b: { prefix: /x, url: 'http://b' } }\n`, /upstreams\.b\.prefix: \/x is already used/],
    ['a transition to an unknown stage', `${MINIMAL}tasks: { transitions: { plan: [ship] } }\n`, /tasks\.transitions\.plan: ship is not a stage/],
    ['broken YAML', 'admin: [\n', /CONFIG_INVALID: .*YAML/],
    ['a duplicate YAML key', `${MINIMAL}listen: a:1\nlisten: b:2\n`, /YAML/],
    ['a short admin token', "admin: { token: '${env:UNIT_SHORT}' }\n", /at least 16/],
    ['a literal approver token', "admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { alice: 'literal-token-0123456789' } }\n", /admin\.approvers\.alice: a secret must come from/],
    ['a short approver token', "admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { alice: '${env:UNIT_SHORT}' } }\n", /admin\.approvers\.alice: the resolved token must be at least 16/],
    ['an approver named admin', "admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { admin: '${env:UNIT_APPROVER_A}' } }\n", /admin\.approvers\.admin: the name admin/],
    ['an approver sharing the admin token', "admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { alice: '${env:UNIT_ADMIN_TOKEN}' } }\n", /admin\.approvers\.alice: the token is also used/],
    ['two approvers sharing a token', "admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { alice: '${env:UNIT_APPROVER_A}', bob: '${env:UNIT_APPROVER_A}' } }\n", /admin\.approvers\.bob: the token is also used/],
    ['an approval URL without {id}', `${MINIMAL}step_up: { approval_url: 'https://console.example/approvals/' }\n`, /step_up\.approval_url: has the wrong form/],
    ['a typo next to the key it misses', "admin: { tokn: '${env:UNIT_ADMIN_TOKEN}' }\n", /^CONFIG_INVALID: configuration is invalid: admin\.tokn: unknown key \(allowed: listen, token, approvers, session_ttl, session_idle, write_api\)$/],
    ['a bad upstream name', `${MINIMAL}upstreams: { GH: { prefix: /gh, url: 'http://x' } }\n`, /^CONFIG_INVALID: configuration is invalid: upstreams\.GH: is not an acceptable name/],
    ['a fractional count', `${MINIMAL}upstreams: { gh: { prefix: /gh, url: 'http://x', connections: 1.5 } }\n`, /^CONFIG_INVALID: configuration is invalid: upstreams\.gh\.connections: expected an integer, got 1\.5$/],
    ['a number below its minimum', `${MINIMAL}policy: { max_memory_pages: 4 }\n`, /^CONFIG_INVALID: configuration is invalid: policy\.max_memory_pages: must be at least 8$/],
    ['a number above its maximum', `${MINIMAL}step_up: { body_preview_bytes: 5000 }\n`, /^CONFIG_INVALID: configuration is invalid: step_up\.body_preview_bytes: must be at most 4096$/],
    ['a duration below its minimum', `${MINIMAL}policy: { poll_interval: 10ms }\n`, /^CONFIG_INVALID: configuration is invalid: policy\.poll_interval: must be at least 50ms$/],
    ['a string where a number belongs', `${MINIMAL}policy: { max_body_bytes: lots }\n`, /^CONFIG_INVALID: configuration is invalid: policy\.max_body_bytes: expected a number, got "lots"$/],
    ['a string where a boolean belongs', `${MINIMAL}policy: { watch: sometimes }\n`, /^CONFIG_INVALID: configuration is invalid: policy\.watch: expected true or false, got "sometimes"$/],
    ['a list where a mapping belongs', `${MINIMAL}policy: [a]\n`, /^CONFIG_INVALID: configuration is invalid: policy: expected a mapping, got \["a"\]$/],
    ['a missing key in a list item', `${MINIMAL}identity: { issuers: [{ name: a, issuer: b, jwks_url: 'http://j' }] }\n`, /^CONFIG_INVALID: configuration is invalid: identity\.issuers\[0\]\.audiences: is required$/],
    ['an empty list', `${MINIMAL}tasks: { stages: [] }\n`, /^CONFIG_INVALID: configuration is invalid: tasks\.stages: needs at least 1 item\(s\)$/],
    ['a wrong item of a list', `${MINIMAL}identity: { issuers: [{ name: a, issuer: b, audiences: [x], jwks_url: 'http://j', algorithms: [none] }] }\n`, /^CONFIG_INVALID: configuration is invalid: identity\.issuers\[0\]\.algorithms\[0\]: expected one of RS256, .*EdDSA, got "none"$/],
    ['a malformed address', `${MINIMAL}listen: 'no port'\n`, /^CONFIG_INVALID: configuration is invalid: listen: has the wrong form: "no port"$/],
    ['a literal webhook secret', `${MINIMAL}step_up: { webhook: { url: 'http://h', secret: 'hunter2-literal' } }\n`, /^CONFIG_INVALID: configuration is invalid: step_up\.webhook\.secret: a secret must come from/],
    ['a literal bundle server token', `${MINIMAL}policy: { service: { url: 'http://b', credentials: { bearer: 'abc' } } }\n`, /policy\.service\.credentials\.bearer: a secret must come from/],
    ['a bundle polling min_delay above max_delay', `${MINIMAL}policy: { service: { url: 'http://b', polling: { min_delay: 30s, max_delay: 20s } } }\n`, /policy\.service\.polling\.min_delay: exceeds max_delay/],
    ['a verification key id that is not a key', `${MINIMAL}policy: { verification: { key_id: k2, keys: { k1: { key: '\${env:UNIT_ADMIN_TOKEN}' } } } }\n`, /policy\.verification\.key_id: k2 is not in/],
    ['verification without keys', `${MINIMAL}policy: { verification: { keys: {} } }\n`, /policy\.verification\.keys: needs at least one key/],
    ['an unknown signing algorithm', `${MINIMAL}policy: { verification: { keys: { k1: { algorithm: none, key: '\${env:UNIT_ADMIN_TOKEN}' } } } }\n`, /keys\.k1\.algorithm: expected one of/],
    ['a literal verification key', `${MINIMAL}policy: { verification: { keys: { k1: { key: 'secret' } } } }\n`, /keys\.k1\.key: a secret must come from/],
    ['a collector min_delay above max_delay', `${MINIMAL}decision_log: { service: { url: 'http://c', min_delay: 10s } }\n`, /decision_log\.service\.min_delay: exceeds max_delay/],
    ['a redis store without a url', `${MINIMAL}store: { kind: redis }\n`, /store\.url: required with store\.kind: redis/],
    ['a redis URL with a password written in the file', `${MINIMAL}store: { kind: redis, url: 'redis://:hunter2@127.0.0.1:6379' }\n`, /store\.url: a URL with a password must be a/],
    ['a store URL that is not redis', `${MINIMAL}store: { kind: redis, url: 'http://127.0.0.1:6379' }\n`, /store\.url: must be redis:\/\/ or rediss:\/\//],
    ['a collector URL that is not http', `${MINIMAL}decision_log: { service: { url: 'ftp://c' } }\n`, /decision_log\.service\.url: has the wrong form/],
  ])('refuses %s and names the key', (_name, yaml, pattern) => {
    process.env.UNIT_SHORT = 'short';
    expect(fault(yaml)).toMatch(pattern);
  });

  it('resolves approver tokens by name and keeps them out of the config object', () => {
    const loaded = load("admin: { token: '${env:UNIT_ADMIN_TOKEN}', approvers: { alice: '${env:UNIT_APPROVER_A}' } }\nstep_up: { approval_url: 'https://console.example/console/approvals/{id}' }\n");
    expect([...loaded.secrets.approvers]).toEqual([['alice', 'unit-approver-alice-0123456789']]);
    expect(loaded.config.step_up.approval_url).toBe('https://console.example/console/approvals/{id}');
    expect(JSON.stringify(loaded.config)).not.toContain('unit-approver-alice');
  });

  it('never shows a literal secret in the fault', () => {
    const message = fault(`${MINIMAL}step_up: { webhook: { url: 'http://h', secret: 'hunter2-literal' } }\n`);
    expect(message).not.toContain('hunter2');
  });

  it('reads an empty key as absent and fills its defaults', () => {
    const { config } = load(`${MINIMAL}policy:\nupstreams:\nstep_up:\n  webhook:\n`);
    expect(config.policy.mode).toBe('enforce');
    expect(config.upstreams).toEqual({});
    expect(config.step_up.webhook).toBeUndefined();
  });

  it('fills the defaults inside each upstream and lane, and takes numbers as milliseconds', () => {
    process.env.UNIT_LANE = 'Bearer lane-token';
    const { config } = load(`${MINIMAL}upstreams: { gh: { prefix: /gh, url: 'http://x', timeout: 250, lanes: { read: { header: authorization, value: '\${env:UNIT_LANE}' } } } }\n`);
    expect(config.upstreams.gh).toEqual({
      prefix: '/gh',
      url: 'http://x',
      timeout: 250,
      stream_idle_timeout: 0,
      connect_timeout: 5000,
      connections: 64,
      mcp: true,
      path_parameters: false,
      max_header_count: 100,
      max_header_bytes: 8192,
      lanes: { read: { header: 'authorization', value: '${env:UNIT_LANE}' } },
    });
  });

  it('freezes the whole configuration', () => {
    const { config } = load(`${MINIMAL}upstreams: { gh: { prefix: /gh, url: 'http://x' } }\n`);
    expect([config, config.policy, config.upstreams, config.upstreams.gh, config.upstreams.gh!.lanes, config.tasks.stages].every(Object.isFrozen)).toBe(true);
  });

  it('fills the defaults of the bundle service and the collector (OPA protocols)', () => {
    const { config, services } = load(`${MINIMAL}policy: { service: { url: 'https://bundles.example' } }\ndecision_log: { service: { url: 'https://logs.example' } }\n`);
    expect(config.policy.service).toEqual({ url: 'https://bundles.example', resource: 'bundles/warden.tar.gz', polling: { min_delay: 10_000, max_delay: 20_000 }, timeout: 30_000 });
    expect(config.decision_log.service).toEqual({ url: 'https://logs.example', min_delay: 1000, max_delay: 5000, max_buffer_bytes: 33_554_432, max_upload_bytes: 1_048_576, timeout: 10_000 });
    expect(services).toEqual({ bundleToken: undefined, logToken: undefined, verificationKeys: {} });
  });

  it('reads ${file:} secrets relative to the configuration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'token'), 'file-admin-token-0123456789\n');
    const loaded = loadConfigText("admin: { token: '${file:token}' }\n", dir);
    expect(loaded.secrets.adminToken).toBe('file-admin-token-0123456789');
  });

  it.each([['500ms', 500], ['30s', 30000], ['10m', 600000], ['1h', 3600000], ['1.5s', 1500], [250, 250]])('parses the duration %s', (text, ms) => {
    expect(parseDuration(text, 'x')).toBe(ms);
  });

  it('keeps docs/configuration.md equal to the schema', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/configuration.md'), 'utf8');
    expect(doc).toBe(configReference());
  });
});
