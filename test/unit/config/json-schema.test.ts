import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
