// Where the live policy comes from: the bundle file (`policy.bundle`, watched) or an OPA bundle
// server (`policy.service`, polled). Both load through the one engine, with the signature check
// of `policy.verification` when it is configured, and report the same events.

import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { Metrics } from '../observability/metrics.js';
import type { WardenError } from '../errors.js';
import { BundleService, type BundleServiceStatus } from './bundle-service.js';
import { BundleStore } from './bundle-store.js';
import { PolicyEngine, type PolicySnapshot } from './engine.js';
import { BundleVerifier } from './signature.js';
import { BundleWatcher } from './watcher.js';

/** Largest bundle a server may send. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

export interface PolicySourceEvents {
  loaded(snapshot: PolicySnapshot): void;
  failed(err: WardenError): void;
}

export interface PolicySource {
  readonly engine: PolicyEngine;
  /** Load (or download) once; resolves whatever the outcome. */
  start(): Promise<void>;
  /** Load now (SIGHUP, tests); false when it failed. */
  reload(): Promise<boolean>;
  /** The bundle server's state for /ready, when a server is configured. */
  status(): BundleServiceStatus | undefined;
  stop(): Promise<void>;
}

/**
 * The policy engine of a configuration: its entrypoint and memory limit, and the signature check
 * of `policy.verification` when configured. The sidecar and `warden eval` both load through it.
 */
export function createPolicyEngine(loaded: LoadedConfig): PolicyEngine {
  const { config, services } = loaded;
  const v = config.policy.verification;
  const verifier = v && new BundleVerifier({ ...(v.key_id !== undefined && { keyId: v.key_id }), ...(v.scope !== undefined && { scope: v.scope }), excludeFiles: v.exclude_files, keys: Object.fromEntries(Object.entries(v.keys).map(([id, k]) => [id, { algorithm: k.algorithm, key: services.verificationKeys[id]!, ...(k.scope !== undefined && { scope: k.scope }) }])) });
  return new PolicyEngine({ entrypoint: config.policy.entrypoint, maxMemoryPages: config.policy.max_memory_pages, ...(verifier && { verifier }) });
}

export function createPolicySource(loaded: LoadedConfig, stateDir: string, metrics: Metrics, events: PolicySourceEvents): PolicySource {
  const { config, baseDir, services } = loaded;
  const engine = createPolicyEngine(loaded);
  const svc = config.policy.service;
  if (!svc) {
    const watcher = new BundleWatcher(engine, resolve(baseDir, config.policy.bundle), events);
    return {
      engine,
      async start() {
        await watcher.reload();
        if (config.policy.watch) watcher.start(config.policy.poll_interval);
      },
      reload: () => watcher.reload(),
      status: () => undefined,
      async stop() {
        watcher.stop();
      },
    };
  }
  const token = services.bundleToken;
  const service = new BundleService(
    engine,
    { url: svc.url, resource: svc.resource, ...(token && { token: () => token.resolve() }), minDelayMs: svc.polling.min_delay, maxDelayMs: svc.polling.max_delay, timeoutMs: svc.timeout, maxBytes: MAX_BUNDLE_BYTES },
    new BundleStore(join(stateDir, 'bundles', 'warden')),
    {
      loaded: (snapshot) => events.loaded(snapshot),
      failed: (err) => events.failed(err),
      fetched: (result) => {
        metrics.bundleFetches.inc({ result });
        const at = Date.now() / 1000;
        if (result === 'error') metrics.bundleFetchFailure.set(at);
        else metrics.bundleFetchSuccess.set(at);
      },
    },
  );
  return { engine, start: () => service.start(), reload: () => service.poll(), status: () => service.status(), stop: () => service.stop() };
}
