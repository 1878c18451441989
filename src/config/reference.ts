// The configuration reference (docs/configuration.md) and the JSON Schema file that editors use
// (schema/warden.schema.json), both generated from the one schema by `npm run docs:config`.

import { Kind } from '@sinclair/typebox';
import { configSchema } from './schema.js';
import { isDuration, isEnum, type SchemaNode as Json } from './schema-kit.js';

export function configReference(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.',
    'Unknown keys are refused and the key at fault is named. Durations are written `500ms`, `30s`, `10m`, `1h`.',
    'Secrets (`admin.token`, `admin.approvers`, lane values, `step_up.webhook.secret`) must be `${env:NAME}` or `${file:PATH}` references;',
    'relative paths are taken from the configuration file\'s directory. An environment variable is read once, at start (a process\'s',
    'environment cannot change from outside it); a file is re-read when it changes, for rotation.',
    'The same schema as JSON Schema: [schema/warden.schema.json](../schema/warden.schema.json).',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...rows(configSchema as unknown as Json, '', false),
    '',
  ].join('\n');
}

/**
 * The schema as an editor reads a file someone writes: keys with a default are not required
 * (unless their default {} still lacks a required key, as `admin` does), TypeBox's symbols dropped.
 */
export function configJsonSchema(): string {
  const doc = { $schema: 'http://json-schema.org/draft-07/schema#', ...asWritten(JSON.parse(JSON.stringify(configSchema)) as Json) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function asWritten(schema: Json): Json {
  for (const key of ['properties', 'patternProperties'] as const) {
    const children = schema[key] as Record<string, Json> | undefined;
    if (children) for (const c of Object.values(children)) asWritten(c);
  }
  if (schema.items) asWritten(schema.items as Json);
  if (Array.isArray(schema.required)) {
    const props = schema.properties as Record<string, Json>;
    const required = schema.required.filter((k: string) => !('default' in props[k]!) || hasRequired(props[k]!));
    if (required.length) schema.required = required;
    else delete schema.required;
  }
  return schema;
}

function hasRequired(schema: Json): boolean {
  return Array.isArray(schema.required) && schema.required.length > 0;
}

function typeName(s: Json): string {
  if (isDuration(s)) return 'duration';
  if (isEnum(s)) return s.anyOf.map((o) => `\`${o.const}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${typeName(s.items as Json)}`;
  if (s[Kind] === 'Record') return `map of ${typeName(inner(s))}`;
  return s.type === 'integer' ? 'number' : String(s.type);
}

function inner(s: Json): Json {
  return Object.values(s.patternProperties as Record<string, Json>)[0]!;
}

function defaultText(s: Json, required: boolean): string {
  if (s.type === 'object' && s[Kind] === 'Object') return '';
  if ('default' in s) return `\`${JSON.stringify(s.default)}\``;
  return required ? '**required**' : '(none)';
}

function rows(s: Json, path: string, required: boolean): string[] {
  const out: string[] = [];
  if (path) out.push(`| \`${path}\` | ${typeName(s)} | ${defaultText(s, required)} | ${String(s.description)} |`);
  const fieldsOf = (o: Json, at: string) => {
    const req = new Set((o.required as string[] | undefined) ?? []);
    for (const [k, c] of Object.entries(o.properties as Record<string, Json>)) out.push(...rows(c, at ? `${at}.${k}` : k, req.has(k)));
  };
  if (s[Kind] === 'Object') fieldsOf(s, path);
  const child = s.type === 'array' ? (s.items as Json) : s[Kind] === 'Record' ? inner(s) : undefined;
  if (child?.[Kind] === 'Object') fieldsOf(child, s.type === 'array' ? `${path}[]` : `${path}.<name>`);
  return out;
}
