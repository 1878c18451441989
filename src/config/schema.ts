// The one configuration schema, as JSON Schema built with TypeBox. From it come the validation
// (src/config/validate.ts), the TypeScript types below, docs/configuration.md and
// schema/warden.schema.json (both written by `npm run docs:config`, checked by unit tests).
// Keys fixed by DESIGN.md keep their names.
//
// Adding a key: put it in its section, with a description and a default (or mark it
// Type.Optional), then run `npm run docs:config` and update the whole-default assertion in
// test/unit/config/load.test.ts. For example:
//   max_hold: Duration({ description: 'Longest hold of a request.', default: '30s', minMs: 1 }),
//   retries: Type.Integer({ description: 'Further attempts.', default: 3, minimum: 0 }),
//   mode: OneOf(['a', 'b'], { description: '...', default: 'a' }),
//   token: Secret({ description: 'Bearer token.' }),          // required, `${env:}`/`${file:}` only
//   hook: OptionalSection('A sub-section that may be absent.', { url: Type.String({ description: '...' }) }),

import { Type } from '@sinclair/typebox';
import { Duration, MapOf, OneOf, OptionalSection, Secret, Section, type Decoded } from './schema-kit.js';

const HOST_PORT = '^[^\\s:]+:\\d{1,5}$|^\\[[0-9a-fA-F:]+\\]:\\d{1,5}$';
const NAME = '^[a-z][a-z0-9_-]{0,62}$';
const HEADER = '^[A-Za-z0-9-]+$';
const HTTP_URL = '^https?:\\/\\/\\S+$';

const oauth = OptionalSection('A just-in-time credential: a token from an OAuth 2.0 authorization server, minted on the first call of a task on the lane, sent as `Bearer <token>`, cached per task and lane until it nears expiry, revoked (RFC 7009) when the task ends.', {
  token_url: Type.String({ description: 'Token endpoint of the authorization server.', pattern: HTTP_URL }),
  client_id: Type.String({ description: 'Warden\'s client id there (authenticated with client_secret_basic).' }),
  client_secret: Secret({ description: 'Its client secret.' }),
  grant: OneOf(['client_credentials', 'token_exchange'], { description: '`client_credentials`, or `token_exchange` (RFC 8693): the task\'s user is the subject and the agent the actor, each a 60-second JWT signed with the task-token key (on a fleet sidecar, with its own assertion key) for the audience `token_url`; the server verifies them with the key set at `/.well-known/jwks.json` on the admin listener (in a fleet, the control plane\'s serves every sidecar\'s assertion key).' }),
  scope: Type.Optional(Type.String({ description: 'Scope asked for; the policy\'s `credential.scope` may only narrow it.' })),
  resource: Type.Optional(Type.String({ description: 'RFC 8707 resource indicator; the policy\'s `credential.resource` may only narrow it (same origin, a path under it).' })),
  audience: Type.Optional(Type.String({ description: 'RFC 8693 `audience`, when the server wants one.' })),
  revocation_url: Type.Optional(Type.String({ description: 'RFC 7009 revocation endpoint; without it a token ends only by expiry.', pattern: HTTP_URL })),
  timeout: Duration({ description: 'Time allowed for one call to the authorization server.', default: '5s', minMs: 1 }),
  refresh_before: Duration({ description: 'A cached token is renewed this long before it expires (at most half its life).', default: '30s' }),
});

const lane = Section('A credential set that Warden injects when the policy picks this lane: a static `value`, or a just-in-time `oauth` token (exactly one of them).', {
  header: Type.String({ description: 'Header that carries the credential (lowercased on the wire).', pattern: HEADER, default: 'authorization' }),
  value: Type.Optional(Secret({ description: 'The header value; write secrets as `${env:NAME}` or `${file:PATH}` (a file is re-read when it changes).' })),
  oauth,
});

const upstream = Section('A downstream API or MCP server, routed by path prefix.', {
  prefix: Type.String({ description: 'Path prefix the agent calls, removed before forwarding (`/github/repos/x` → `/repos/x`).', pattern: '^\\/[A-Za-z0-9._~-]+(\\/[A-Za-z0-9._~-]+)*$' }),
  url: Type.String({ description: 'Base URL of the upstream (http or https); its path is prepended to the forwarded path.', pattern: '^https?:\\/\\/[^\\s]+$' }),
  timeout: Duration({ description: 'Time allowed for the upstream to send response headers, and between body chunks.', default: '30s', minMs: 1 }),
  stream_idle_timeout: Duration({ description: 'For an event stream (`text/event-stream`, MCP\'s server-to-client streams): the longest silence before Warden closes it; `0s` (the default) never does. `timeout` then applies to the response headers only, so a long-lived stream is not cut.', default: '0s' }),
  connect_timeout: Duration({ description: 'Time allowed to open a connection.', default: '5s', minMs: 1 }),
  connections: Type.Integer({ description: 'Keep-alive connections kept in the pool for this upstream.', default: 64, minimum: 1 }),
  mcp: Type.Boolean({ description: 'Treat JSON-RPC 2.0 bodies as MCP calls (fills `input.mcp`; denials answer as JSON-RPC errors).', default: true }),
  path_parameters: Type.Boolean({ description: 'Forward `;` path parameters (matrix URIs) to this upstream; off, a path with `;` is refused 400 `PATH_INVALID` (Tomcat and Jetty strip them before resolving `..`).', default: false }),
  max_header_count: Type.Integer({ description: "Most header fields this upstream accepts, Warden's own included; a request that would exceed it is refused 431 `HEADERS_TOO_LARGE`.", default: 100, minimum: 8 }),
  max_header_bytes: Type.Integer({ description: "Most bytes of request line and headers this upstream accepts, Warden's own included (Tomcat's default is 8 KiB).", default: 8192, minimum: 1024 }),
  host: Type.Optional(Type.String({ description: 'The `Host` header the upstream receives (default: the authority of `url`); set it to the name the server\'s own DNS-rebinding check expects.', pattern: '^[A-Za-z0-9.-]+(:\\d{1,5})?$|^\\[[0-9a-fA-F:]+\\](:\\d{1,5})?$' })),
  lanes: MapOf(lane, { description: 'Credential lanes by name (`read`, `write`, `escalation`, ...).', default: {}, keyPattern: NAME }),
});

const bearerCredentials = OptionalSection('Credentials sent to the service.', {
  bearer: Secret({ description: 'Bearer token (`Authorization: Bearer ...`), as `${env:NAME}` or `${file:PATH}` (a file is re-read when it changes).' }),
});

const bundleService = OptionalSection('Download the bundle from an OPA bundle server (`GET <url>/<resource>` with ETag polling) instead of reading `policy.bundle`. The last good bundle keeps serving and is persisted in `<state_dir>/bundles/`, so a restart while the server is down serves it.', {
  url: Type.String({ description: 'Base URL of the bundle server.', pattern: HTTP_URL }),
  resource: Type.String({ description: 'Path of the bundle under `url`.', default: 'bundles/warden.tar.gz' }),
  credentials: bearerCredentials,
  polling: Section('How often the server is asked for a new bundle: a random delay between the two; failures are retried with backoff up to `max_delay`.', {
    min_delay: Duration({ description: 'Shortest delay between two polls.', default: '10s', minMs: 10 }),
    max_delay: Duration({ description: 'Longest delay between two polls, and the longest backoff after failures.', default: '20s', minMs: 10 }),
  }),
  timeout: Duration({ description: 'Time allowed for one download.', default: '30s', minMs: 1 }),
});

const BUNDLE_SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'] as const;

const verificationKey = Section('A key that bundle signatures may be made with (OPA `keys`).', {
  algorithm: OneOf(BUNDLE_SIGNING_ALGORITHMS, { description: 'JWT algorithm of the signature.', default: 'RS256' }),
  key: Secret({ description: 'PEM public key or certificate, or the shared secret for HS*; as `${file:PATH}` or `${env:NAME}`.' }),
  scope: Type.Optional(Type.String({ description: 'Scope the signature must carry when `policy.verification.scope` is not set.' })),
});

const bundleVerification = OptionalSection('Load only signed bundles, verified as OPA verifies `.signatures.json`. An unsigned, wrongly signed or changed bundle is refused (POLICY_BUNDLE_UNVERIFIED) and the last good one keeps serving. Applies to `policy.bundle` and `policy.service` alike.', {
  key_id: Type.Optional(Type.String({ description: 'Key to verify with; when unset, the key the signature names (`kid`).' })),
  scope: Type.Optional(Type.String({ description: 'Scope the signature must carry (else the key\'s `scope`, else none).' })),
  exclude_files: Type.Array(Type.String({ description: 'pattern' }), { description: 'Files left out of verification (Go `filepath.Match` patterns such as `extra/*.json`).', default: [] }),
  keys: MapOf(verificationKey, { description: 'Verification keys by id.', keyPattern: '^[A-Za-z0-9._-]{1,64}$' }),
});

const logService = OptionalSection('Ship decisions to an OPA decision-log collector: gzip\'d JSON arrays POSTed to `<url>/logs`. Beside the local log (`path`), which keeps every line.', {
  url: Type.String({ description: 'Base URL of the collector.', pattern: HTTP_URL }),
  credentials: bearerCredentials,
  min_delay: Duration({ description: 'Shortest delay between two uploads.', default: '1s', minMs: 10 }),
  max_delay: Duration({ description: 'Longest delay between two uploads, and the longest backoff after failures.', default: '5s', minMs: 10 }),
  max_buffer_bytes: Type.Integer({ description: 'Decisions kept while the collector is slow or down; beyond this new decisions are dropped and counted (`warden_decision_log_dropped_total`).', default: 33_554_432, minimum: 1024 }),
  max_upload_bytes: Type.Integer({ description: 'Largest upload before compression: a batch that reaches it is sent at once, and a larger backlog goes out in several.', default: 1_048_576, minimum: 1024 }),
  timeout: Duration({ description: 'Time allowed for one upload.', default: '10s', minMs: 1 }),
});

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const issuer = Section('An external token issuer (OIDC, or SPIFFE JWT-SVIDs).', {
  name: Type.String({ description: 'Name shown in logs and as `input.agent.issuer` when the token has none.', pattern: NAME }),
  issuer: Type.String({ description: 'Expected `iss` claim.' }),
  audiences: Type.Array(Type.String({ description: 'audience' }), { description: 'Accepted `aud` values; a token must name one.', minItems: 1 }),
  jwks_url: Type.Optional(Type.String({ description: 'JWKS URL, fetched and cached; refetched on an unknown `kid`.', pattern: HTTP_URL })),
  jwks_file: Type.Optional(Type.String({ description: 'JWKS file, re-read when it changes (instead of `jwks_url`).' })),
  algorithms: Type.Array(OneOf(ALGORITHMS, { description: 'algorithm' }), { description: 'Accepted signing algorithms (`none` is never accepted).', default: ['RS256', 'ES256', 'EdDSA'], minItems: 1 }),
  spiffe: Type.Boolean({ description: 'Require `sub` to be a `spiffe://` id (JWT-SVID).', default: false }),
  trust_domain: Type.Optional(Type.String({ description: 'With `spiffe`, the trust domain the `sub` must belong to.' })),
  max_lifetime: Duration({ description: 'Refuse tokens whose `exp - iat` exceeds this.', default: '1h' }),
  jwks_cache: Duration({ description: 'How long a fetched JWKS is trusted before a refetch.', default: '5m' }),
  agent_claim: Type.String({ description: 'Claim that names the agent (`input.agent.id`).', default: 'sub' }),
});

export const configSchema = Type.Object(
  {
    listen: Type.String({ description: 'Address of the proxy listener that agents call.', default: '127.0.0.1:8080', pattern: HOST_PORT }),
    allowed_origins: Type.Array(Type.String({ description: 'origin', pattern: '^https?:\\/\\/[^\\s/]+$' }), { description: 'Browser origins (`https://host[:port]`) allowed besides loopback ones, on the proxy and the admin listener: a request whose `Origin` header is neither is refused 403 `ORIGIN_REFUSED` before the policy or the admin token is looked at (DNS-rebinding defence); the admin listener also accepts the origin of `step_up.approval_url`. Requests without `Origin` pass.', default: [] }),
    state_dir: Type.String({ description: 'Directory of the embedded database (tasks, revocations, usage, approvals) and the task signing key.', default: '.warden' }),
    admin: Section('The admin listener.', {
      listen: Type.String({ description: 'Address of the admin listener (health, ready, metrics, tasks, approvals).', default: '127.0.0.1:8181', pattern: HOST_PORT }),
      token: Secret({ description: 'Bearer token for the admin API (health, ready and metrics need none); at least 16 characters. It also signs in to the console as `admin`.' }),
      approvers: MapOf(Secret({ description: 'approver token' }), { description: 'Named approver tokens for the console (`/console/`): name → `${env:...}` or `${file:...}`, at least 16 characters each. An approver may decide approvals whose policy `approvers` list is empty or names it; the name is recorded with the decision.', default: {}, keyPattern: NAME }),
      session_ttl: Duration({ description: 'Longest life of a console session, from sign-in.', default: '8h', minMs: 60_000 }),
      session_idle: Duration({ description: 'A console session unused this long ends.', default: '30m', minMs: 60_000 }),
      write_api: Type.Boolean({ description: '`false`: the admin listener refuses every write (creating, changing or revoking tasks, deciding approvals, registering agents, pinning tools) and the approver console with 403 `ADMIN_READ_ONLY`; `/health`, `/ready`, `/metrics`, `/.well-known/jwks.json`, the reads of `/v1` and `POST /v1/check` stay. Set it on the sidecars of a fleet, so that every write goes through `warden control`.', default: true }),
    }),
    policy: Section('The compiled Rego policy.', {
      bundle: Type.String({ description: 'OPA bundle (`.tar.gz`, at most 256 MiB uncompressed; entries that leave the bundle, repeat, or are links refuse it) or a directory with `policy.wasm` and `data.json`.', default: 'bundles/warden.tar.gz' }),
      entrypoint: Type.String({ description: 'Entrypoint that gives the decision object.', default: 'warden/decision' }),
      mode: OneOf(['enforce', 'dry-run'], { description: '`enforce`, or `dry-run`: evaluate and log, but forward everything.', default: 'enforce' }),
      max_body_bytes: Type.Integer({ description: 'Largest request body Warden reads for the policy; larger bodies are refused with 413.', default: 1_048_576, minimum: 0 }),
      max_json_depth: Type.Integer({ description: 'Deepest nesting of a JSON request body (objects and arrays); a deeper body is refused with 400 `BODY_TOO_DEEP`.', default: 64, minimum: 1, maximum: 1000 }),
      max_memory_pages: Type.Integer({ description: 'Upper bound of the wasm memory in 64 KiB pages; an input that needs more is refused.', default: 512, minimum: 8 }),
      watch: Type.Boolean({ description: 'Reload the bundle when the file changes.', default: true }),
      poll_interval: Duration({ description: 'How often the bundle file is checked for changes.', default: '1s', minMs: 50 }),
      service: bundleService,
      verification: bundleVerification,
    }),
    upstreams: MapOf(upstream, { description: 'Upstreams by name.', default: {}, keyPattern: NAME }),
    identity: Section('Who the agent is: Warden task tokens and external issuers.', {
      header: Type.String({ description: 'Header that carries the bearer token.', default: 'authorization', pattern: HEADER }),
      clock_skew: Duration({ description: 'Tolerance for `exp`, `nbf` and `iat`.', default: '30s' }),
      task_tokens: Section('Task tokens that Warden signs.', {
        algorithm: OneOf(['EdDSA', 'ES256'], { description: 'Signing algorithm.', default: 'EdDSA' }),
        key_file: Type.Optional(Type.String({ description: 'PKCS#8 PEM private key; generated in `state_dir` when absent. In a fleet (`store.kind: redis`) only `warden control` holds one: a sidecar reads and generates none, and refuses to start with this key set.' })),
        issuer: Type.String({ description: '`iss` of task tokens.', default: 'warden' }),
        audience: Type.String({ description: '`aud` of task tokens.', default: 'warden' }),
        default_ttl: Duration({ description: 'TTL of a task created without one.', default: '15m', minMs: 1000 }),
        max_ttl: Duration({ description: 'Largest TTL a task may ask for.', default: '8h', minMs: 1000 }),
      }),
      issuers: Type.Array(issuer, { description: 'External issuers whose tokens are accepted.', default: [] }),
      registered_agents_only: Type.Boolean({ description: 'Refuse a task, or an external token, whose agent is not an active agent of the registry (`/v1/agents`); an external token maps to an agent by its issuer and `sub`.', default: true }),
    }),
    agents: Section('The agent registry (`/v1/agents`).', {
      stale_after: Duration({ description: 'An active agent unused this long is flagged `stale` in the inventory and counted by `warden_agents_stale`.', default: '720h', minMs: 1000 }),
    }),
    tasks: Section('Workflow stages and risk levels of tasks.', {
      stages: Type.Array(Type.String({ description: 'stage', pattern: NAME }), { description: 'Allowed stage names.', default: ['plan', 'execute', 'review', 'done'], minItems: 1 }),
      risks: Type.Array(Type.String({ description: 'risk', pattern: NAME }), { description: 'Allowed risk levels.', default: ['low', 'medium', 'high'], minItems: 1 }),
      transitions: MapOf(Type.Array(Type.String({ description: 'stage' }), { description: 'targets' }), { description: 'Allowed moves: stage → stages it may move to. Empty allows any move.', default: {} }),
    }),
    step_up: Section('Human approval of step-up decisions.', {
      webhook: OptionalSection('Where approval requests are POSTed.', {
        url: Type.String({ description: 'Receiver URL.', pattern: HTTP_URL }),
        secret: Secret({ description: 'HMAC-SHA256 key of `Warden-Signature`.' }),
        timeout: Duration({ description: 'Time allowed for one delivery.', default: '5s' }),
        retries: Type.Integer({ description: 'Further attempts after a failed delivery (connection error or 5xx).', default: 3, minimum: 0, maximum: 10 }),
        backoff: Duration({ description: 'First retry delay, doubled on each attempt.', default: '200ms' }),
      }),
      hold: Duration({ description: 'How long a request waits for a decision before the agent gets the step-up answer; 0 answers at once.', default: '0s' }),
      ttl: Duration({ description: 'Lifetime of an approval, pending or granted.', default: '10m', minMs: 1000 }),
      retry_after: Duration({ description: '`Retry-After` sent with the step-up answer.', default: '5s' }),
      body_preview_bytes: Type.Integer({ description: 'How much of the request body the webhook event may show (0: none).', default: 0, minimum: 0, maximum: 4096 }),
      approval_url: Type.Optional(Type.String({ description: 'URL of one approval\'s page, `{id}` replaced by the approval id; carried as `approval_url` in the webhook event. Default: the admin listener\'s `/console/approvals/{id}` at its bound address (set it when the console is reached through another host name or TLS).', pattern: '^https?:\\/\\/[^\\s{}]+\\{id\\}[^\\s{}]*$' })),
    }),
    tracing: OptionalSection('OpenTelemetry traces of the request path, exported with OTLP/HTTP: one trace per request (`warden.request`, with route, identify, evaluate, step_up and forward spans), continuing the agent\'s W3C `traceparent` (MCP `params._meta.traceparent` first, else the header). Off when absent.', {
      otlp_url: Type.String({ description: 'OTLP/HTTP traces endpoint (binary protobuf, `application/x-protobuf`), e.g. `http://collector:4318/v1/traces`.', pattern: HTTP_URL }),
      service_name: Type.String({ description: '`service.name` of the spans.', default: 'warden' }),
      export_delay: Duration({ description: 'Longest wait of finished spans before they are exported (1 MiB of encoded spans, about 10 000, go at once).', default: '5s', minMs: 10 }),
      sample_ratio: Type.Number({ description: 'Share of requests without a sampled parent that are traced (a parent\'s sampled flag is followed).', default: 1, minimum: 0, maximum: 1 }),
    }),
    store: Section('Where tasks, revocations, usage counters, approvals and held-request wake-ups live.', {
      kind: OneOf(['sqlite', 'redis'], { description: '`sqlite`: one process, `<state_dir>/warden.db`. `redis`: a fleet of sidecars sharing one Redis (run it with AOF persistence, `appendonly yes`). Call counts (the caps) are shared: each sidecar writes its counts every 50 ms and reads those of a task at most every 10 ms, so it sees its own calls at once and another sidecar\'s within about 60 ms.', default: 'sqlite' }),
      url: Type.Optional(Type.String({ description: 'With `kind: redis`: `redis://host:port/db`; a URL with a password must be a `${env:NAME}` or `${file:PATH}` reference.' })),
      prefix: Type.String({ description: 'Prefix of every Redis key and of the pub/sub channel (several fleets may share one Redis).', default: 'warden:', pattern: '^[A-Za-z0-9:_.-]{1,64}$' }),
      max_staleness: Duration({ description: 'How long a sidecar may answer from its pub/sub-fed cache without confirming its link to Redis; past it, what it cannot confirm is refused 503 `STORE_UNAVAILABLE`.', default: '1s', minMs: 50 }),
    }),
    decision_log: Section('One JSON line per decision.', {
      path: Type.String({ description: '`stdout`, `stderr` or a file path (appended). Lines are written synchronously, once per event-loop turn; in production prefer a file: a stalled stdout pipe stalls the proxy.', default: 'stdout' }),
      mask: Type.Array(Type.String({ description: 'path', pattern: '^input(\\.[A-Za-z0-9_-]+)+$' }), { description: 'Input paths replaced by `"**REDACTED**"` in the log (`input.request.body.password`).', default: [] }),
      max_body_bytes: Type.Integer({ description: 'Request bodies larger than this are logged as `"**TRUNCATED**"` (their digest and size stay in the input).', default: 65_536, minimum: 0 }),
      level: OneOf(['debug', 'info', 'warn', 'error', 'silent'], { description: 'Level of Warden\'s own operational log (stderr).', default: 'info' }),
      checkpoints: OptionalSection('Signed checkpoints of the hash chain (Ed25519), so `warden audit verify --key` finds a rewritten log or a cut tail. Also written at start, on reopen (rotation) and at close.', {
        every: Type.Integer({ description: 'A checkpoint after this many lines.', default: 1000, minimum: 1 }),
        interval: Duration({ description: 'And at least this often, idle or not.', default: '10s', minMs: 100 }),
        key: Secret({ description: 'Ed25519 private key (PKCS#8 PEM), e.g. `${file:audit-ed25519.pem}`; verify with its public key.' }),
      }),
      service: logService,
    }),
  },
  { title: 'Warden configuration', description: 'Warden configuration', additionalProperties: false },
);

export type WardenConfig = Decoded<typeof configSchema>;
export type UpstreamConfig = WardenConfig['upstreams'][string];
export type LaneConfig = UpstreamConfig['lanes'][string];
export type OAuthLaneConfig = NonNullable<LaneConfig['oauth']>;
export type IssuerConfig = WardenConfig['identity']['issuers'][number];
