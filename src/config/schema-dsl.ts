// A small schema language: one definition gives validation with defaults, the key path of any
// fault, the TypeScript type, and the generated configuration reference (docs/configuration.md).
// Unknown keys are refused everywhere (fastify validates its options the same way).

import { WardenError } from '../errors.js';

export type Node =
  | { kind: 'string'; doc: string; def?: string; optional?: boolean; pattern?: RegExp; enum?: readonly string[]; secret?: boolean }
  | { kind: 'number'; doc: string; def?: number; optional?: boolean; min?: number; max?: number; integer?: boolean }
  | { kind: 'boolean'; doc: string; def?: boolean; optional?: boolean }
  | { kind: 'duration'; doc: string; def?: string; optional?: boolean; min?: number }
  | { kind: 'array'; doc: string; of: Node; def?: unknown[]; optional?: boolean; minItems?: number }
  | { kind: 'map'; doc: string; of: Node; def?: Record<string, unknown>; optional?: boolean; keyPattern?: RegExp }
  | { kind: 'object'; doc: string; fields: Record<string, Node>; optional?: boolean };

type Opt<N extends { optional?: boolean; def?: unknown }, T> = N extends { def: unknown } ? T : N extends { optional: true } ? T | undefined : T;

export type Infer<N extends Node> = N extends { kind: 'string'; enum: readonly (infer E)[] }
  ? Opt<N, E>
  : N extends { kind: 'string' }
    ? Opt<N, string>
    : N extends { kind: 'number' }
      ? Opt<N, number>
      : N extends { kind: 'boolean' }
        ? Opt<N, boolean>
        : N extends { kind: 'duration' }
          ? Opt<N, number>
          : N extends { kind: 'array'; of: infer O extends Node }
            ? Opt<N, Infer<O>[]>
            : N extends { kind: 'map'; of: infer O extends Node }
              ? Opt<N, Record<string, Infer<O>>>
              : N extends { kind: 'object'; fields: infer F extends Record<string, Node> }
                ? Opt<N, { readonly [K in keyof F]: Infer<F[K]> }>
                : never;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s" → 30000. Numbers are taken as milliseconds. */
export function parseDuration(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!m) throw fault(path, `expected a duration such as "500ms", "30s", "10m" or "1h", got ${show(value)}`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

function fault(path: string, why: string): WardenError {
  return new WardenError('CONFIG_INVALID', `${path || '(root)'}: ${why}`);
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** Validate `value` against `node`, filling defaults; throws CONFIG_INVALID naming the key. */
export function validate(node: Node, value: unknown, path = ''): unknown {
  if (value === undefined || value === null) {
    if ('def' in node && node.def !== undefined) value = structuredClone(node.def);
    else if (node.optional) return undefined;
    else if (node.kind === 'object') value = {};
    else throw fault(path, 'is required');
  }
  switch (node.kind) {
    case 'string': {
      if (typeof value !== 'string') throw fault(path, `expected a string, got ${show(value)}`);
      if (node.enum && !node.enum.includes(value)) throw fault(path, `expected one of ${node.enum.join(', ')}, got ${show(value)}`);
      if (node.pattern && !node.pattern.test(value)) throw fault(path, node.secret ? 'has the wrong form' : `has the wrong form: ${show(value)}`);
      return value;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fault(path, `expected a number, got ${show(value)}`);
      if (node.integer && !Number.isInteger(value)) throw fault(path, `expected an integer, got ${value}`);
      if (node.min !== undefined && value < node.min) throw fault(path, `must be at least ${node.min}`);
      if (node.max !== undefined && value > node.max) throw fault(path, `must be at most ${node.max}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw fault(path, `expected true or false, got ${show(value)}`);
      return value;
    case 'duration': {
      const ms = parseDuration(value, path);
      if (node.min !== undefined && ms < node.min) throw fault(path, `must be at least ${node.min}ms`);
      return ms;
    }
    case 'array': {
      if (!Array.isArray(value)) throw fault(path, `expected a list, got ${show(value)}`);
      if (node.minItems !== undefined && value.length < node.minItems) throw fault(path, `needs at least ${node.minItems} item(s)`);
      return Object.freeze(value.map((v, i) => validate(node.of, v, join(path, i))));
    }
    case 'map': {
      if (!isPlainObject(value)) throw fault(path, `expected a mapping, got ${show(value)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (node.keyPattern && !node.keyPattern.test(k)) throw fault(join(path, k), `is not an acceptable name (${node.keyPattern})`);
        out[k] = validate(node.of, v, join(path, k));
      }
      return Object.freeze(out);
    }
    case 'object': {
      if (!isPlainObject(value)) throw fault(path, `expected a mapping, got ${show(value)}`);
      for (const k of Object.keys(value)) {
        if (!(k in node.fields)) throw fault(join(path, k), `unknown key (allowed: ${Object.keys(node.fields).join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(node.fields)) {
        const v = validate(child, value[k], join(path, k));
        if (v !== undefined) out[k] = v;
      }
      return Object.freeze(out);
    }
  }
}

/** The configuration reference in Markdown, one row per key. */
export function renderReference(node: Node, path = ''): string[] {
  const rows: string[] = [];
  const typeName = (n: Node): string =>
    n.kind === 'string' && n.enum ? n.enum.map((e) => `\`${e}\``).join(' \\| ') : n.kind === 'array' ? `list of ${typeName(n.of)}` : n.kind === 'map' ? `map of ${typeName(n.of)}` : n.kind;
  const defText = (n: Node): string => {
    if ('def' in n && n.def !== undefined) return `\`${JSON.stringify(n.def)}\``;
    if (n.kind === 'object') return '';
    return n.optional ? '(none)' : '**required**';
  };
  if (path) rows.push(`| \`${path}\` | ${typeName(node)} | ${defText(node)} | ${node.doc} |`);
  if (node.kind === 'object') for (const [k, c] of Object.entries(node.fields)) rows.push(...renderReference(c, join(path, k)));
  if (node.kind === 'map' || node.kind === 'array') {
    const inner = node.kind === 'map' ? `${path}.<name>` : `${path}[]`;
    if (node.of.kind === 'object') for (const [k, c] of Object.entries(node.of.fields)) rows.push(...renderReference(c, join(inner, k)));
  }
  return rows;
}
