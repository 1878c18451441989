// The composition root: wires the domains and returns `{ listen, close }`. Importing it has no
// side effects; signals are handled in main.ts only.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { checkRoute } from './admin/check-route.js';
import { Metrics } from './observability/metrics.js';
import { createAdminServer } from './admin/server.js';
import { tasksRoutes } from './admin/tasks-routes.js';
import { approvalsRoutes } from './admin/approvals-routes.js';
import { toolsRoutes } from './admin/tools-routes.js';
import { ToolRegistry } from './mcp/tool-registry.js';
import { ServerRequests } from './mcp/server-requests.js';
import { allowedOriginSet } from './mcp/origin.js';
import { checkpointOptions } from './audit/checkpoint.js';
import { DecisionLog } from './audit/decision-log.js';
import type { ConsoleHandler } from './console/handler.js';
import type { LoadedConfig } from './config/load.js';
import type { WardenConfig } from './config/schema.js';
import { WardenError, type ErrorCode } from './errors.js';
import { CredentialLanes } from './credentials/lanes.js';
import { JitCredentials, oauthLanesOf } from './credentials/jit-credentials.js';
import { LaneCredentials } from './credentials/lane-credentials.js';
import { OAuthClient } from './credentials/oauth-client.js';
import { AgentService } from './agents/agent-service.js';
import { agentsRoutes } from './admin/agents-routes.js';
import { Authenticator } from './identity/authenticator.js';
import { TaskTokens } from './identity/task-tokens.js';
import { joinKeyRing } from './identity/fleet-keys.js';
import { createPolicySource } from './policy/source.js';
import { InflightCounter, createHandler } from './proxy/handler.js';
import { onClientError, onExpectation } from './proxy/rejected.js';
import { Router } from './proxy/router.js';
import { Upstreams } from './proxy/upstreams.js';
import { REQUEST_STATE_KEY } from './store/sealing-keys.js';
import { stepUpGate } from './stepup/gate.js';
import { approvalUrl, approvalUrlTemplate } from './stepup/approval-url.js';
import { StepUpManager } from './stepup/manager.js';
import { WebhookClient } from './stepup/webhook.js';
import { TaskService } from './tasks/task-service.js';

export interface SidecarOptions {
  readonly ops: Logger;
  /** The identity domain's clock in unix ms (token times, JWKS caching and refetch cooldown), also that of MCP `requestState` expiry; tests advance it. */
  readonly now?: () => number;
  /**
   * `control`: the control plane of a fleet (`warden control`): the admin API and console over the
   * shared store, no proxy listener; it publishes its task-signing key for the sidecars.
   */
  readonly role?: 'sidecar' | 'control';
}

export interface Sidecar {
  /** `proxy` is absent for the control plane. */
  listen(): Promise<{ proxy?: AddressInfo; admin: AddressInfo }>;
  close(): Promise<void>;
  revision(): string | undefined;
  /** Load the bundle now (tests, SIGHUP); resolves false when it was refused. */
  reloadPolicy(): Promise<boolean>;
  /** Writes any buffered decision-log lines out now. */
  flushLogs(): void;
  /** Reopens the decision-log file (logrotate: SIGHUP, SIGUSR2); the chain continues. */
  reopenLogs(): void;
  /** Resolves once every request that started has written its decision-log line. */
  idle(): Promise<void>;
}

const DRAIN_MS = 5_000;
/** Ended tasks stay readable (GET /v1/tasks/{id}) this long before housekeeping removes them. */
const TASK_RETENTION_MS = 24 * 3_600_000;
const HOUSEKEEPING_MS = 10 * 60_000;
/** How often tokens of tasks that ended by expiry are looked for and revoked. */
const CREDENTIAL_SWEEP_MS = 5_000;

function splitHostPort(hp: string): { host: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
}

function listenOn(server: Server, hp: string): Promise<AddressInfo> {
  const { host, port } = splitHostPort(hp);
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => {
      server.off('error', rej);
      res(server.address() as AddressInfo);
    });
  });
}

export async function createSidecar(loaded: LoadedConfig, opts: SidecarOptions): Promise<Sidecar> {
  const { config, baseDir } = loaded;
  const { ops } = opts;
  const metrics = new Metrics();
  const checkpoints = checkpointOptions(config.decision_log.checkpoints, baseDir);
  const logPath = config.decision_log.path === 'stdout' || config.decision_log.path === 'stderr' ? config.decision_log.path : resolve(baseDir, config.decision_log.path);
  // Loaded only when configured, as tracing below: without a collector the shipper's code is not imported.
  const shipper = config.decision_log.service && (await import('./audit/shipping.js')).createLogShipper(loaded, metrics, ops);
  const log = new DecisionLog({ path: logPath, mask: config.decision_log.mask, maxBodyBytes: config.decision_log.max_body_bytes, ...(checkpoints && { checkpoints }), ...(shipper && { ship: (line: Buffer, from: number, to: number) => shipper.push(line, from, to) }), onError: (err) => {
    metrics.errors.inc({ code: 'AUDIT_WRITE_FAILED' satisfies ErrorCode });
    ops.error({ err }, 'decision log write failed');
  } });
  const stateDir = resolve(baseDir, config.state_dir);
  // Only the configured store adapter is loaded: a SQLite sidecar never loads ioredis (a dozen
  // modules of code and source text held for the process's life), a fleet member never SQLite.
  const stores = config.store.kind === 'redis'
    ? await (await import('./store/redis/open.js')).openRedisStores({ url: loaded.storeUrl!, prefix: config.store.prefix, maxStalenessMs: config.store.max_staleness })
    : (await import('./store/sqlite/open.js')).openSqliteStores(stateDir);

  const source = createPolicySource(loaded, stateDir, metrics, {
    loaded: (s) => {
      metrics.bundleLoads.inc({ result: 'ok' });
      metrics.revision(s.revision);
      log.event('bundle.loaded', { revision: s.revision, source: s.source });
      ops.info({ revision: s.revision }, 'policy bundle loaded');
    },
    failed: (err) => {
      metrics.bundleLoads.inc({ code: err.code, result: 'error' });
      log.event('bundle.failed', { error: err.code, detail: err.detail, revision: engine.revision });
      ops.error({ code: err.code, detail: err.detail, serving: engine.revision ?? null }, 'policy bundle refused; the last good policy keeps serving');
    },
  });
  const { engine } = source;
  await source.start();
  shipper?.start();

  const role = opts.role ?? 'sidecar';
  if (role === 'control' && !stores.keys) throw new WardenError('CONFIG_INVALID', 'store.kind: warden control needs the shared store (redis)');
  // In a fleet only the control plane holds the task-signing key: a sidecar reads none and
  // generates none, and verifies task tokens with the keys the control plane publishes.
  const fleetSidecar = stores.keys !== undefined && role === 'sidecar';
  if (fleetSidecar && config.identity.task_tokens.key_file !== undefined) {
    throw new WardenError('CONFIG_INVALID', 'identity.task_tokens.key_file: a fleet sidecar (store.kind: redis) holds no task-signing key; give it to warden control only');
  }
  const tokens = fleetSidecar ? await TaskTokens.verifier(config) : await TaskTokens.create({ ...config, state_dir: stateDir }, { baseDir });
  const fleetKeys = stores.keys && await joinKeyRing(stores.keys, tokens, config.identity.task_tokens.max_ttl, ops);
  const jit = new JitCredentials(oauthLanesOf(config.upstreams, loaded.oauthSecrets), stores.credentials, new OAuthClient(), tokens, {
    onEvent: (e) => log.event(e.event, { ...e }),
  });
  const agentTasks = { live: (now: number) => stores.tasks.live(now), revoke: (id: string) => tasks.revoke(id) };
  const agents = new AgentService(stores.agents, agentTasks, {
    risks: config.tasks.risks,
    registeredOnly: config.identity.registered_agents_only,
    staleAfterMs: config.agents.stale_after,
    onEvent: (e) => {
      log.event(e.event, { ...e });
      // Tokens minted for the agent's calls without a task end with the agent's access.
      if (e.event === 'agent.suspended' || e.event === 'agent.retired') {
        jit.revokeOwner(`agent:${e.agent}`, e.event).catch((err: unknown) => ops.warn({ err, agent: e.agent }, 'credential revocation failed'));
      }
    },
  });
  const tasks: TaskService = new TaskService(config, stores, tokens, { onEvent: (e) => log.event(e.event, { ...e }), admission: agents, onHookError: (err, taskId) => ops.warn({ err, task: taskId }, 'task revoke hook failed') });
  tasks.onRevoke((taskId) => jit.revokeOwner(taskId, 'task revoked'));
  const credentialSweep = setInterval(() => {
    jit.revokeEnded().catch((err: unknown) => ops.warn({ err }, 'credential sweep failed'));
  }, CREDENTIAL_SWEEP_MS);
  credentialSweep.unref();
  const housekeeping = setInterval(() => {
    Promise.resolve()
      .then(() => stores.tasks.purgeExpired(Date.now() - TASK_RETENTION_MS))
      .catch((err: unknown) => ops.warn({ err }, 'task housekeeping failed'));
  }, HOUSEKEEPING_MS);
  housekeeping.unref();
  metrics.agentCounts = () => agents.counts();
  const identity = await Authenticator.create(config, stores, { tokens, baseDir, agents, onWarning: (m) => ops.warn(m), ...(opts.now && { now: opts.now }) });

  /** `step_up.approval_url` in force; the default needs the admin listener's bound address. */
  let approvalUrls: string | undefined = config.step_up.approval_url;
  const webhookCfg = config.step_up.webhook;
  const webhook = webhookCfg && loaded.secrets.webhookSecret ? new WebhookClient({ ...webhookCfg, secret: loaded.secrets.webhookSecret }, ops) : undefined;
  const manager = new StepUpManager(config.step_up, stores.approvals, webhook, (e) => {
    metrics.approvals.inc({ event: e.event });
    log.event(e.event, { ...e });
  }, { logger: ops, events: stores.approvalEvents, approvalUrl: (id) => (approvalUrls === undefined ? undefined : approvalUrl(approvalUrls, id)) });
  manager.start();
  metrics.sampleHeld(() => manager.held());
  tasks.onRevoke((taskId) => manager.cancelForTask(taskId));

  const tools = new ToolRegistry({
    store: stores.toolPins,
    bundleData: () => engine.data,
    onChanged: (e) => log.event('tool.changed', { ...e }),
  });
  const upstreams = new Upstreams(config.upstreams);
  const lanes = new LaneCredentials(new CredentialLanes(config.upstreams, loaded.lanes), jit);
  let closing = false;
  const inflight = new InflightCounter();
  const tc = config.tracing;
  // Loaded only when configured: with tracing off the OpenTelemetry SDK is not even imported (and
  // with it on, only by the trace thread).
  const tracing = tc && new (await import('./observability/tracing.js')).Tracing({
    url: tc.otlp_url, serviceName: tc.service_name, sampleRatio: tc.sample_ratio, exportDelayMs: tc.export_delay,
    onError: (err) => ops.error({ err }, 'the trace thread failed; requests are no longer traced'),
    onDropped: () => metrics.tracesDropped.inc(),
  });
  const handler = createHandler({
    inflight, tracing,
    config, router: new Router(config.upstreams), engine, upstreams, lanes, log, metrics, ops, identity,
    usage: stores.usage, stepUp: stepUpGate(manager), isClosing: () => closing,
    mcp: { tools, serverRequests: new ServerRequests(), stateKey: await stores.sealingKeys.get(REQUEST_STATE_KEY), now: opts.now ?? Date.now, approvalUrl: (id) => (approvalUrls === undefined ? undefined : approvalUrl(approvalUrls, id)) },
  });
  // requireHostHeader: Node would answer a request without Host 400 itself, unlogged (a client
  // whose Host falls past Node's header-count limit loses it); Warden never forwards the agent's
  // Host, so the request goes through the handler like any other.
  const proxy = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, requireHostHeader: false }, handler);
  const rejected = { log, metrics, entrypoint: config.policy.entrypoint };
  proxy.on('clientError', onClientError(rejected));
  proxy.on('checkExpectation', onExpectation(rejected));
  // The console (pages, assets, sessions) is loaded at its first request: approvers open it rarely,
  // and a sidecar whose approvers use the control plane's never does.
  let approverConsole: Promise<ConsoleHandler> | undefined;
  const admin = createAdminServer({
    token: loaded.secrets.adminToken,
    routes: [tasksRoutes(tasks), agentsRoutes(agents), approvalsRoutes(manager), checkRoute({ engine, log, config }), toolsRoutes(tools)],
    ready: () => ({ ...(closing ? { ready: false, reason: 'shutting down' } : engine.revision ? { ready: true, revision: engine.revision } : { ready: false, reason: 'no policy loaded' }), bundle_service: source.status() }),
    metrics,
    jwks: async () => ({ keys: fleetKeys ? await fleetKeys.assertionJwks() : [await tokens.assertionJwk()] }),
    ops,
    writeApi: config.admin.write_api,
    console: async (req, res) => (await (approverConsole ??= import('./console/mount.js').then((m) => m.mountConsole({ loaded, approvals: manager, log, logPath }))))(req, res),
    allowedOrigins: adminOrigins(config),
  });

  let closed: Promise<void> | undefined;
  return {
    async listen() {
      const proxyAddr = role === 'control' ? undefined : await listenOn(proxy, config.listen);
      const adminAddr = await listenOn(admin, config.admin.listen);
      approvalUrls = approvalUrlTemplate(config.step_up.approval_url, adminAddr);
      return { ...(proxyAddr && { proxy: proxyAddr }), admin: adminAddr };
    },
    revision: () => engine.revision,
    reloadPolicy: () => source.reload(),
    flushLogs: () => log.flush(),
    reopenLogs: () => log.reopen(),
    idle: () => inflight.idle(),
    close() {
      // Safe to call twice (undici dispatchers): the second call gets the first one's promise.
      closed ??= (async () => {
        closing = true;
        await source.stop();
        clearInterval(housekeeping);
        clearInterval(credentialSweep);
        fleetKeys?.close();
        const proxyClosed = new Promise<void>((r) => proxy.close(() => r()));
        // Keep-alive sockets turn idle as their in-flight requests finish: close them as they do,
        // and cut whatever is still open after the drain time.
        const idle = setInterval(() => proxy.closeIdleConnections(), 25);
        const timer = setTimeout(() => proxy.closeAllConnections(), DRAIN_MS);
        await proxyClosed;
        clearInterval(idle);
        clearTimeout(timer);
        // A closed socket can still have its audit record in flight: wait for it (bounded).
        await Promise.race([inflight.idle(), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
        await new Promise<void>((r) => admin.close(() => r()));
        admin.closeAllConnections();
        // The manager first: its webhook deliveries and waiters still use the stores.
        await manager.close();
        await webhook?.close();
        await upstreams.close();
        identity.close();
        await jit.close();
        await stores.close();
        await log.close();
        // After the log: every decision of the drained requests is in the buffer by now.
        await shipper?.close(DRAIN_MS);
        await Promise.race([tracing?.close().catch(() => undefined), new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
      })();
      return closed;
    },
  };
}

/** Origins the admin listener accepts besides loopback: `allowed_origins` and the console's own (`step_up.approval_url`). */
function adminOrigins(config: WardenConfig): ReadonlySet<string> {
  const page = config.step_up.approval_url;
  return allowedOriginSet(page === undefined ? config.allowed_origins : [...config.allowed_origins, new URL(page.replace('{id}', 'id')).origin]);
}
