// vitest globalSetup: make sure the pinned opa is available (installing it if needed) and build
// the shipped example policy rego/ into test/.artifacts/warden.tar.gz (EXAMPLE_BUNDLE).
// A missing opa (and no Go to install it) fails the run: policy tests are never skipped.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, ensureOpa } from '../scripts/opa.mjs';

export default async function setup(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const artifacts = path.join(root, 'test', '.artifacts');
  await ensureOpa();
  await mkdir(artifacts, { recursive: true });
  await buildBundle({ sources: [path.join(root, 'rego')], out: path.join(artifacts, 'warden.tar.gz') });
}
