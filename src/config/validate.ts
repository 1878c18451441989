// Raw YAML value → validated configuration: nulls read as absent, defaults filled (TypeBox
// Value.Default), checked against the JSON Schema, durations decoded, deeply frozen. A fault throws
// CONFIG_INVALID naming the key path (`upstreams.gh.url: is required`); a secret's value is never
// shown.

import { deepFreeze } from '../deep-freeze.js';
import { Kind, type TSchema } from '@sinclair/typebox';
import { TransformDecodeError, Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { WardenError } from '../errors.js';
import { durationExpected, show } from './duration.js';
import { configSchema, type WardenConfig } from './schema.js';
import { isDuration, isEnum, type SchemaNode } from './schema-kit.js';

export function validateConfig(raw: unknown): WardenConfig {
  return validateAgainst(configSchema, raw) as WardenConfig;
}

export function validateAgainst(schema: TSchema, raw: unknown): unknown {
  const value = Value.Default(schema, dropNulls(schema as AnySchema, raw === null ? undefined : structuredClone(raw)));
  const errors = [...Value.Errors(schema, value)];
  // An unknown key is usually a typo of a required one: name the typo, not the missing key.
  const first = errors.find((e) => e.type === ValueErrorType.ObjectAdditionalProperties) ?? errors[0];
  if (first) throw fault(pathOf(first.path, value), describe(first));
  try {
    return deepFreeze(Value.Decode(schema, value));
  } catch (err) {
    if (err instanceof TransformDecodeError) throw fault(pathOf(err.path, value), (err.error as Error).message, err);
    throw err;
  }
}

function fault(path: string, why: string, cause?: unknown): WardenError {
  return new WardenError('CONFIG_INVALID', `${path || '(root)'}: ${why}`, cause === undefined ? undefined : { cause });
}

type AnySchema = TSchema & SchemaNode;

/**
 * YAML `key:` with nothing after it is null: read it as absent for known keys of a section. A list
 * where a mapping belongs is refused here, because Value.Default would write defaults into it.
 */
function dropNulls(schema: AnySchema, value: unknown, path = ''): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (schema.type === 'object') throw fault(path, `expected a mapping, got ${show(value)}`);
    if (schema.type === 'array') value.forEach((v, i) => (value[i] = dropNulls(schema.items as AnySchema, v, `${path}[${i}]`)));
    return value;
  }
  const obj = value as Record<string, unknown>;
  const props = schema.properties as Record<string, AnySchema> | undefined;
  const pattern = schema.patternProperties as Record<string, AnySchema> | undefined;
  for (const key of Object.keys(obj)) {
    const child = props?.[key] ?? (pattern ? Object.values(pattern)[0] : undefined);
    if (!child) continue;
    if (obj[key] === null && props?.[key]) delete obj[key];
    else obj[key] = dropNulls(child, obj[key], path ? `${path}.${key}` : key);
  }
  return obj;
}

/** `/upstreams/gh/lanes/0` → `upstreams.gh.lanes[0]`, telling list indexes from names by the value. */
function pathOf(pointer: string, root: unknown): string {
  let out = '';
  let at: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = Array.isArray(at) ? `${out}[${key}]` : out ? `${out}.${key}` : key;
    at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

function describe(e: ValueError): string {
  const s = e.schema as AnySchema;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return s[Kind] === 'Record'
        ? `is not an acceptable name (/${Object.keys(s.patternProperties as object)[0]}/)`
        : `unknown key (allowed: ${Object.keys(s.properties as object).join(', ')})`;
    case ValueErrorType.Object:
      return `expected a mapping, got ${show(e.value)}`;
    case ValueErrorType.Array:
      return `expected a list, got ${show(e.value)}`;
    case ValueErrorType.ArrayMinItems:
      return `needs at least ${s.minItems} item(s)`;
    case ValueErrorType.String:
      return `expected a string, got ${show(e.value)}`;
    case ValueErrorType.StringPattern:
      return s.writeOnly
        ? 'a secret must come from ${env:NAME} or ${file:PATH}, not the configuration file'
        : `has the wrong form: ${show(e.value)}`;
    case ValueErrorType.Boolean:
      return `expected true or false, got ${show(e.value)}`;
    case ValueErrorType.Number:
      return `expected a number, got ${show(e.value)}`;
    case ValueErrorType.Integer:
      return typeof e.value === 'number' && Number.isFinite(e.value) ? `expected an integer, got ${e.value}` : `expected a number, got ${show(e.value)}`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be at least ${s.minimum}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be at most ${s.maximum}`;
    case ValueErrorType.Union:
      if (isDuration(s)) return durationExpected(e.value);
      if (isEnum(s)) return `expected one of ${s.anyOf.map((o) => o.const).join(', ')}, got ${show(e.value)}`;
      return `has the wrong type: ${show(e.value)}`;
    default:
      return e.message;
  }
}

