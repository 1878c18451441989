#!/usr/bin/env node
// Builds rego/ into bundles/warden.tar.gz (opa build -t wasm -e warden/decision).
// --check: builds into a temp file and compares the bundle *contents* (policy.wasm, data.json,
// .manifest, ...) with the committed bundles/warden.tar.gz; exits 1 when they differ.
// Signing (OPA's .signatures.json, for `policy.verification`):
//   --signing-key FILE [--signing-alg RS256|ES256|EdDSA|HS256|...] [--key-id ID] [--scope S] [--out FILE]
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, buildBundle, bundleContents, makeTempDir } from './opa.mjs';

const SOURCES = [path.join(PROJECT_ROOT, 'rego')];
const TARGET = path.join(PROJECT_ROOT, 'bundles', 'warden.tar.gz');
const rel = (p) => path.relative(PROJECT_ROOT, p) || p;

const VALUED = ['--signing-key', '--signing-alg', '--key-id', '--scope', '--out'];
const USAGE = 'usage: node scripts/policy-build.mjs [--check] [--signing-key FILE [--signing-alg ALG] [--key-id ID] [--scope S]] [--out FILE]';

/** `--flag value` pairs and bare flags; null when something is unknown or lacks its value. */
function parseArgs(argv) {
  const opts = { check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') opts.check = true;
    else if (VALUED.includes(a) && i + 1 < argv.length) opts[a.slice(2)] = argv[++i];
    else return null;
  }
  if (!opts['signing-key'] && (opts['signing-alg'] || opts['key-id'] || opts.scope)) return null;
  return opts;
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (!opts) {
    console.error(`${USAGE}  (got: ${argv.join(' ')})`);
    return 2;
  }
  if (!opts.check) {
    const signing = opts['signing-key'] && {
      key: opts['signing-key'],
      algorithm: opts['signing-alg'],
      keyId: opts['key-id'],
      ...(opts.scope && { claims: { scope: opts.scope } }),
    };
    const { out, revision } = await buildBundle({ sources: SOURCES, out: opts.out ? path.resolve(opts.out) : TARGET, ...(signing && { signing }) });
    console.log(`built ${rel(out)} (revision ${revision}${signing ? ', signed' : ''})`);
    return 0;
  }

  const stale = 'bundles/warden.tar.gz is stale: run npm run policy:build';
  if (!existsSync(TARGET)) {
    console.error(`${stale} (the file is missing)`);
    return 1;
  }
  const dir = await makeTempDir('warden-policy-check-');
  try {
    const fresh = path.join(dir, 'warden.tar.gz');
    const { revision } = await buildBundle({ sources: SOURCES, out: fresh });
    const want = await bundleContents(fresh);
    const have = await bundleContents(TARGET);
    const differ = [...new Set([...Object.keys(want), ...Object.keys(have)])]
      .sort()
      .filter((k) => want[k] !== have[k])
      .map((k) => (!(k in have) ? `${k} (missing)` : !(k in want) ? `${k} (unexpected)` : k));
    if (differ.length > 0) {
      console.error(`${stale}; entries that differ: ${differ.join(', ')}`);
      return 1;
    }
    console.log(`${rel(TARGET)} is up to date (revision ${revision})`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`policy-build: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
