// The last bundle that was downloaded and activated, kept under `state_dir` (as OPA's
// `persist: true` does) so that a restart while the bundle server is down still serves it. The
// archive and its ETag are written to temp files and renamed into place: a crash mid-write
// leaves the previous copy, never half of one. It is verified again when it is read back.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PersistedBundle {
  readonly archive: Buffer;
  readonly etag: string | undefined;
}

export class BundleStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  get archivePath(): string {
    return join(this.#dir, 'bundle.tar.gz');
  }

  /** The persisted copy, or undefined when there is none (or it cannot be read). */
  read(): PersistedBundle | undefined {
    let archive: Buffer;
    try {
      archive = readFileSync(this.archivePath);
    } catch {
      return undefined;
    }
    let etag: string | undefined;
    try {
      const meta = JSON.parse(readFileSync(join(this.#dir, 'bundle.json'), 'utf8')) as { etag?: unknown };
      etag = typeof meta.etag === 'string' ? meta.etag : undefined;
    } catch {
      etag = undefined;
    }
    return { archive, etag };
  }

  write(archive: Buffer, etag: string | undefined, revision: string): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const meta = join(this.#dir, 'bundle.json');
    // The archive is renamed in first: paired with an older ETag it only costs one full download,
    // whereas a new ETag beside the old archive would keep that archive behind 304s.
    // A temp file left by a crash is removed first: writing into it would keep its mode, not 0600.
    for (const tmp of [`${meta}.tmp`, `${this.archivePath}.tmp`]) rmSync(tmp, { force: true });
    writeFileSync(`${meta}.tmp`, JSON.stringify({ etag, revision, persisted_at: new Date().toISOString() }), { mode: 0o600 });
    writeFileSync(`${this.archivePath}.tmp`, archive, { mode: 0o600 });
    renameSync(`${this.archivePath}.tmp`, this.archivePath);
    renameSync(`${meta}.tmp`, meta);
  }
}
