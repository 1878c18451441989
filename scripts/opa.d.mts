// Types for scripts/opa.mjs (plain ESM JavaScript run by bare node and imported by tests).

export declare const OPA_VERSION: 'v1.22.2';

/** Absolute path of the project root (the directory above scripts/). */
export declare const PROJECT_ROOT: string;

/**
 * Absolute path of an `opa` binary reporting exactly OPA_VERSION: `opa` on PATH if it matches,
 * else <project>/.tools/bin/opa, else installs it there with `go install` (fails when Go is missing).
 */
export declare function ensureOpa(opts?: { quiet?: boolean }): Promise<string>;

/** "sha256:" + first 16 hex of SHA-256 over sorted paths and contents of non-test .rego/.json files. */
export declare function computeRevision(sources: string[]): Promise<string>;

export interface BuildBundleOptions {
  /** Directories or files passed to `opa build`. */
  sources: string | string[];
  /** Output .tar.gz path. */
  out: string;
  /** Defaults to 'warden/decision'. */
  entrypoint?: string;
  /** Defaults to a deterministic content hash of the sources. */
  revision?: string;
}

/** `opa build -t wasm -e <entrypoint> --ignore '*_test.rego' --revision <rev> -o <out> <sources>`. */
export declare function buildBundle(opts: BuildBundleOptions): Promise<{ out: string; revision: string }>;

/** `opa test -v <dir>` with inherited stdio; rejects when a test fails. */
export declare function runOpaTests(dir: string): Promise<void>;

/** Entry name → sha256 hex of its contents, for a .tar.gz bundle. */
export declare function bundleContents(file: string): Promise<Record<string, string>>;

/** A fresh temporary directory; the caller removes it. */
export declare function makeTempDir(prefix?: string): Promise<string>;
