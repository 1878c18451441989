// Helpers to find/install the pinned OPA, build Wasm bundles and run `opa test`.
// Plain ESM JavaScript so it runs with bare `node` (no build step).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';

export const OPA_VERSION = 'v1.22.2';
const OPA_MODULE = 'github.com/open-policy-agent/opa';

/** Project root: the directory above scripts/. */
// scripts/opa.mjs, or its copy in dist/scripts/ when the benchmark runs compiled.
const SCRIPTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(SCRIPTS_DIR, path.basename(path.dirname(SCRIPTS_DIR)) === 'dist' ? '../..' : '..');
const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'bin');

/**
 * Run a command; resolve {code, stdout, stderr}. Never rejects on a non-zero exit
 * (only when the command cannot be started, e.g. ENOENT).
 */
function run(cmd, args, { env, inherit = false, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: env ?? process.env,
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The version an opa binary reports ("1.22.2"), or null when it cannot be run. */
async function opaVersionOf(bin) {
  try {
    const { code, stdout } = await run(bin, ['version']);
    if (code !== 0) return null;
    const m = /^Version:\s*v?(\S+)\s*$/m.exec(stdout);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/** Absolute path of `name` on PATH, or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.resolve(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

let ensured; // memoized promise per process

/**
 * Absolute path of an `opa` binary reporting exactly OPA_VERSION: `opa` on PATH if it matches,
 * else <project>/.tools/bin/opa, else installs it there with `go install`.
 * @param {{quiet?: boolean}} [opts]
 * @returns {Promise<string>}
 */
export function ensureOpa(opts = {}) {
  ensured ??= ensureOpaUncached(opts).catch((err) => {
    ensured = undefined;
    throw err;
  });
  return ensured;
}

async function ensureOpaUncached({ quiet = false } = {}) {
  const want = OPA_VERSION.replace(/^v/, '');
  const onPath = which('opa');
  if (onPath && (await opaVersionOf(onPath)) === want) return onPath;

  const local = path.join(TOOLS_BIN, 'opa');
  if (existsSync(local)) {
    const v = await opaVersionOf(local);
    if (v === want) return local;
    if (!quiet) console.error(`[opa] ${local} reports ${v ?? 'nothing'}, want ${want}: reinstalling`);
  }

  let goVersion;
  try {
    goVersion = await run('go', ['version']);
  } catch (err) {
    if (err && err.code === 'ENOENT') {
      throw new Error(
        `opa ${OPA_VERSION} not found (neither on PATH nor at ${local}) and Go is not installed: ` +
          `install Go (https://go.dev/dl/) and re-run, or put opa ${OPA_VERSION} on PATH`,
      );
    }
    throw err;
  }
  if (goVersion.code !== 0) throw new Error(`'go version' failed: ${goVersion.stderr.trim()}`);

  await mkdir(TOOLS_BIN, { recursive: true });
  if (!quiet) {
    console.error(
      `[opa] installing opa ${OPA_VERSION} into ${TOOLS_BIN} with 'go install ${OPA_MODULE}@${OPA_VERSION}' (takes ~1.5 minutes)...`,
    );
  }
  const res = await run('go', ['install', `${OPA_MODULE}@${OPA_VERSION}`], {
    env: { ...process.env, GOBIN: TOOLS_BIN },
  });
  if (res.code !== 0) {
    throw new Error(`go install ${OPA_MODULE}@${OPA_VERSION} failed (exit ${res.code}):\n${res.stderr.trim()}`);
  }
  const v = await opaVersionOf(local);
  if (v !== want) throw new Error(`installed ${local} reports version ${v ?? 'unknown'}, want ${want}`);
  if (!quiet) console.error(`[opa] installed ${local}`);
  return local;
}

/** Relative (posix) paths of all files under dir, sorted, skipping hidden dirs. */
async function listFiles(dir, base = dir) {
  const out = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else if (e.isFile()) out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

function isBundleInput(rel) {
  const name = rel.split('/').pop() ?? rel;
  if (name.endsWith('_test.rego')) return false;
  return name.endsWith('.rego') || name.endsWith('.json');
}

/**
 * Deterministic revision: "sha256:" + first 16 hex of SHA-256 over the sorted relative paths and
 * contents of the non-test .rego and .json files under the sources.
 * @param {string[]} sources
 */
export async function computeRevision(sources) {
  const files = [];
  for (const src of sources) {
    const abs = path.resolve(src);
    const st = await stat(abs);
    if (st.isDirectory()) {
      for (const rel of await listFiles(abs)) if (isBundleInput(rel)) files.push({ rel, abs: path.join(abs, rel) });
    } else if (isBundleInput(path.basename(abs))) {
      files.push({ rel: path.basename(abs), abs });
    }
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const h = createHash('sha256');
  for (const f of files) {
    const content = await readFile(f.abs);
    h.update(`${f.rel}\0${content.length}\0`);
    h.update(content);
    h.update('\0');
  }
  return `sha256:${h.digest('hex').slice(0, 16)}`;
}

/** Deepest directory containing every path (a file source counts by its directory). */
function commonAncestor(paths) {
  const dirs = paths.map((p) => (existsSync(p) && statSyncIsDir(p) ? p : path.dirname(p)));
  let common = dirs[0];
  for (const d of dirs.slice(1)) {
    while (common !== path.dirname(common) && d !== common && !d.startsWith(common + path.sep)) {
      common = path.dirname(common);
    }
  }
  return common;
}

function statSyncIsDir(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Build a Wasm bundle with `opa build -t wasm`; with `signing`, a signed one (`-b --signing-key`:
 * OPA writes `.signatures.json`, a JWT listing every file's digest). `signing.key` is a PEM file,
 * or for HS* the file holding the secret; `keyId` becomes the JWT's `kid`; `claims` (e.g.
 * `{scope}`) are added to its payload.
 * @param {{sources: string | string[], out: string, entrypoint?: string, revision?: string,
 *   signing?: {key: string, algorithm?: string, keyId?: string, claims?: Record<string, unknown>}}} opts
 * @returns {Promise<{out: string, revision: string}>}
 */
export async function buildBundle({ sources, out, entrypoint = 'warden/decision', revision, signing }) {
  const srcs = (Array.isArray(sources) ? sources : [sources]).map((s) => path.resolve(s));
  if (srcs.length === 0) throw new Error('buildBundle: no sources');
  const outAbs = path.resolve(out);
  const rev = revision ?? (await computeRevision(srcs));
  const opa = await ensureOpa({ quiet: true });
  await mkdir(path.dirname(outAbs), { recursive: true });
  // Run from the sources' common ancestor with relative paths, so the module paths stored in
  // the bundle do not depend on where the checkout lives (keeps --check stable across machines).
  const cwd = commonAncestor(srcs);
  const rels = srcs.map((s) => path.relative(cwd, s) || '.');
  const args = ['build', '-t', 'wasm', '-e', entrypoint, '--ignore', '*_test.rego', '--revision', rev, '-o', outAbs];
  let claimsDir;
  if (signing) {
    args.push('-b', '--signing-key', path.resolve(signing.key), '--signing-alg', signing.algorithm ?? 'RS256');
    if (signing.keyId) args.push('--verification-key-id', signing.keyId);
    if (signing.claims) {
      // OPA writes no key id when a claims file is given: carry it as the `keyid` claim.
      claimsDir = await makeTempDir('warden-claims-');
      const claimsFile = path.join(claimsDir, 'claims.json');
      await writeFile(claimsFile, JSON.stringify({ ...(signing.keyId && { keyid: signing.keyId }), ...signing.claims }));
      args.push('--claims-file', claimsFile);
    }
  }
  args.push(...rels);
  const res = await run(opa, args, { cwd }).finally(() => claimsDir && rm(claimsDir, { recursive: true, force: true }));
  if (res.code !== 0) {
    throw new Error(`opa build failed (exit ${res.code}):\n${(res.stderr || res.stdout).trim()}`);
  }
  return { out: outAbs, revision: rev };
}

/**
 * `opa test -v <dir>` with inherited stdio; rejects when a test fails.
 * @param {string} dir
 */
export async function runOpaTests(dir) {
  const opa = await ensureOpa();
  const res = await run(opa, ['test', '-v', path.resolve(dir)], { inherit: true });
  if (res.code !== 0) throw new Error(`opa test ${dir} failed (exit ${res.code})`);
}

/**
 * Regular files of a tar buffer as [{name, data}] (tar-stream: ustar, PAX and GNU long names).
 * @param {Buffer} buf
 */
async function readTar(buf) {
  const files = [];
  const reader = extract();
  reader.end(buf);
  for await (const entry of reader) {
    const chunks = [];
    for await (const chunk of entry) chunks.push(chunk);
    if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') files.push({ name: entry.header.name, data: Buffer.concat(chunks) });
  }
  return files;
}

/**
 * Map of entry name (leading "/" and "./" stripped) → sha256 hex of its contents, for a
 * .tar.gz bundle. Compares contents, not the (non-deterministic) archive bytes.
 * @param {string} file
 * @returns {Promise<Record<string, string>>}
 */
export async function bundleContents(file) {
  const tar = gunzipSync(await readFile(file));
  const map = {};
  for (const { name, data } of await readTar(tar)) {
    const key = name.replace(/^(\.?\/)+/, '');
    map[key] = createHash('sha256').update(data).digest('hex');
  }
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]]));
}

/** A fresh temp dir (caller removes it). */
export async function makeTempDir(prefix = 'warden-opa-') {
  return mkdtemp(path.join(tmpdir(), prefix));
}

