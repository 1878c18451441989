// `${env:NAME}` and `${file:PATH}` references. Secrets never live in the configuration file
// itself: a key marked secret must hold references (SECRET_PATTERN in schema-kit.ts). File references are re-read when the
// file changes (mtime or size), so a rotated secret takes effect without a restart. A process's
// environment is fixed when it starts, so an environment reference is read once, at the first
// resolve (at start), and kept: reading `process.env` is a lookup through the C++ environment
// store, several µs on every request of a lane.

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { WardenError } from '../errors.js';

const REF = /\$\{(env|file):([^}]+)\}/g;

interface FileCache {
  mtimeMs: number;
  size: number;
  value: string;
}

/** What a template is made of: enough to make it again in a worker thread, which resolves it there. */
export interface SecretTemplateSource {
  readonly template: string;
  readonly baseDir: string;
  readonly where: string;
}

/** A piece of a template: literal text, or a reference resolved on each use. */
type Part = string | { readonly kind: 'env' | 'file'; readonly name: string };

/**
 * A template with references, resolved on demand; file contents are cached by mtime and size.
 * The template is split into its parts once (resolving runs on every request of a lane).
 */
export class SecretTemplate {
  readonly #parts: readonly Part[];
  readonly #baseDir: string;
  readonly #files = new Map<string, FileCache>();
  readonly #envs = new Map<string, string>();
  readonly #where: string;
  readonly source: SecretTemplateSource;

  constructor(template: string, baseDir: string, where: string) {
    this.source = { template, baseDir, where };
    const parts: Part[] = [];
    let at = 0;
    for (const m of template.matchAll(REF)) {
      if (m.index > at) parts.push(template.slice(at, m.index));
      parts.push({ kind: m[1] as 'env' | 'file', name: m[2]! });
      at = m.index + m[0].length;
    }
    if (at < template.length || parts.length === 0) parts.push(template.slice(at));
    this.#parts = parts;
    this.#baseDir = baseDir;
    this.#where = where;
  }

  /** The resolved value; throws CONFIG_SECRET_UNRESOLVED naming the reference (never the value). */
  resolve(): string {
    let out = '';
    for (const p of this.#parts) out += typeof p === 'string' ? p : p.kind === 'env' ? this.#env(p.name) : this.#file(p.name);
    return out;
  }

  #env(name: string): string {
    const known = this.#envs.get(name);
    if (known !== undefined) return known;
    const v = process.env[name];
    if (v === undefined || v === '') throw new WardenError('CONFIG_SECRET_UNRESOLVED', `${this.#where}: environment variable ${name} is not set`);
    this.#envs.set(name, v);
    return v;
  }

  #file(path: string): string {
    const full = isAbsolute(path) ? path : resolve(this.#baseDir, path);
    let st;
    try {
      st = statSync(full);
    } catch (err) {
      throw new WardenError('CONFIG_SECRET_UNRESOLVED', `${this.#where}: file ${path} cannot be read`, { cause: err });
    }
    const cached = this.#files.get(full);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.value;
    const value = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
    if (value === '') throw new WardenError('CONFIG_SECRET_UNRESOLVED', `${this.#where}: file ${path} is empty`);
    this.#files.set(full, { mtimeMs: st.mtimeMs, size: st.size, value });
    return value;
  }
}
