import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema } from '../../../src/config/reference.js';

const root = resolve(import.meta.dirname, '../../..');

describe('schema/warden.schema.json', () => {
  it('is equal to the schema (run `npm run docs:config` after a change)', () => {
    expect(readFileSync(resolve(root, 'schema/warden.schema.json'), 'utf8')).toBe(configJsonSchema());
  });

  it('asks an editor only for the keys without a default', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.required).toEqual(['admin']);
    expect(schema.properties.admin.required).toEqual(['token']);
    expect(schema.properties.policy.required).toBeUndefined();
    expect(schema.properties.upstreams.patternProperties['^[a-z][a-z0-9_-]{0,62}$'].required).toEqual(['prefix', 'url']);
    expect(schema.properties.step_up.properties.webhook.required).toEqual(['url', 'secret']);
  });

  it('refuses unknown keys and literal secrets in the editor too', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.admin.properties.token).toMatchObject({ type: 'string', writeOnly: true, pattern: '\\$\\{(env|file):[^}]+\\}' });
  });

  it('is named by the example configuration for YAML editors', () => {
    const example = readFileSync(resolve(root, 'examples/warden.yaml'), 'utf8');
    expect(example.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/warden.schema.json');
  });

  it('is valid JSON Schema to a standard validator (ajv, strict), which accepts the example and refuses what the loader refuses', () => {
    const validate = new Ajv({ strict: true }).compile(JSON.parse(configJsonSchema()));
    const example = parseYaml(readFileSync(resolve(root, 'examples/warden.yaml'), 'utf8')) as Record<string, unknown>;
    expect(validate(example)).toBe(true);
    const minimal = { admin: { token: '${env:ADMIN_TOKEN}' } };
    expect(validate(minimal)).toBe(true);
    const refused = (doc: unknown) => (validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));
    expect(refused({ ...minimal, listen_addr: 'x' })).toEqual([' must NOT have additional properties']);
    expect(refused({ admin: { token: 'literal-token-0123456789' } })).toEqual(['/admin/token must match pattern "\\$\\{(env|file):[^}]+\\}"']);
    expect(refused({ ...minimal, policy: { poll_interval: 'soon' } })).toEqual(['/policy/poll_interval must match pattern "^\\s*\\d+(\\.\\d+)?(ms|s|m|h)\\s*$"', '/policy/poll_interval must be number', '/policy/poll_interval must match a schema in anyOf']);
  });
});
