// Builders for the configuration schema (TypeBox, so the schema is JSON Schema): sections that
// refuse unknown keys and fill their defaults, durations that decode to milliseconds, secrets that
// must be `${env:}`/`${file:}` references, enums, maps with checked names.

import { Type, type SchemaOptions, type StaticDecode, type TLiteral, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';
import { DURATION_PATTERN, parseDuration } from './duration.js';

/** A secret is made of references; the value itself never appears in the file. */
export const SECRET_PATTERN = '\\$\\{(env|file):[^}]+\\}';

interface Doc {
  readonly description: string;
}

/**
 * A mapping with a fixed set of keys; unknown keys are refused. An absent section is `{}` with its
 * defaults filled (so required keys inside it are still asked for).
 */
export function Section<P extends TProperties>(description: string, properties: P): TObject<P> {
  return Type.Object(properties, { description, additionalProperties: false, default: {} });
}

/** A section that may be left out entirely (then it stays absent). */
export function OptionalSection<P extends TProperties>(description: string, properties: P) {
  return Type.Optional(Type.Object(properties, { description, additionalProperties: false }));
}

/** "30s", "10m", or a number of milliseconds; decoded to milliseconds, at least `minMs`. */
export function Duration(opts: Doc & { default?: string; minMs?: number }) {
  const { minMs, ...schemaOpts } = opts;
  const written = Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })], schemaOpts);
  return Type.Transform(written)
    .Decode((v) => {
      const ms = parseDuration(v, '');
      if (minMs !== undefined && ms < minMs) throw new Error(`must be at least ${minMs}ms`);
      return ms;
    })
    .Encode((ms) => `${ms}ms`);
}

/** A string that holds a secret: `writeOnly` in JSON Schema, and only `${env:}`/`${file:}` references. */
export function Secret(opts: Doc) {
  return Type.String({ ...opts, writeOnly: true, pattern: SECRET_PATTERN });
}

/** One of a fixed list of strings. */
export function OneOf<const T extends readonly string[]>(values: T, opts: SchemaOptions = {}): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((v) => Type.Literal(v)), opts) as TUnion<TLiteral<T[number]>[]>;
}

/** A mapping from a name matching `keyPattern` to `of`. */
export function MapOf<T extends TSchema>(of: T, opts: Doc & { default?: Record<string, unknown>; keyPattern?: string }) {
  const { keyPattern, ...schemaOpts } = opts;
  return Type.Record(Type.String({ pattern: keyPattern ?? '^.*$' }), of, { ...schemaOpts, additionalProperties: false });
}

/** The decoded type with read-only objects (the loaded configuration is deeply frozen). */
export type Frozen<T> = T extends (infer E)[] ? Frozen<E>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

export type Decoded<S extends TSchema> = Frozen<StaticDecode<S>>;

/** A schema node read as plain data (the generated docs and error messages look into it). */
export type SchemaNode = Record<PropertyKey, unknown>;

export function isDuration(schema: SchemaNode): boolean {
  return Array.isArray(schema.anyOf) && (schema.anyOf[0] as SchemaNode | undefined)?.pattern === DURATION_PATTERN;
}

export function isEnum(schema: SchemaNode): schema is SchemaNode & { anyOf: { const: string }[] } {
  return Array.isArray(schema.anyOf) && schema.anyOf.every((s: SchemaNode) => typeof s.const === 'string');
}
