// `${env:NAME}` and `${file:PATH}` references. Secrets never live in the configuration file
// itself: a key marked secret must hold references (SECRET_PATTERN in schema-kit.ts). File references are re-read when the
// file changes (mtime or size), so a rotated secret takes effect without a restart.

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { WardenError } from '../errors.js';

const REF = /\$\{(env|file):([^}]+)\}/g;

interface FileCache {
  mtimeMs: number;
  size: number;
  value: string;
}

/** A template with references, resolved on demand; file contents are cached by mtime and size. */
export class SecretTemplate {
  readonly #template: string;
  readonly #baseDir: string;
  readonly #files = new Map<string, FileCache>();
  readonly #where: string;

  constructor(template: string, baseDir: string, where: string) {
    this.#template = template;
    this.#baseDir = baseDir;
    this.#where = where;
  }

  /** The resolved value; throws CONFIG_SECRET_UNRESOLVED naming the reference (never the value). */
  resolve(): string {
    return this.#template.replace(REF, (_m, kind: string, name: string) => (kind === 'env' ? this.#env(name) : this.#file(name)));
  }

  #env(name: string): string {
    const v = process.env[name];
    if (v === undefined || v === '') throw new WardenError('CONFIG_SECRET_UNRESOLVED', `${this.#where}: environment variable ${name} is not set`);
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
