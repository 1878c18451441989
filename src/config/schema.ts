// The one configuration schema. Keys fixed by DESIGN.md keep their names; docs/configuration.md
// is generated from this file (`npm run docs:config`) and checked against it by a unit test.

import type { Infer, Node } from './schema-dsl.js';

const HOST_PORT = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

const lane = {
  kind: 'object',
  doc: 'A credential set that Warden injects when the policy picks this lane.',
  fields: {
    header: { kind: 'string', doc: 'Header that carries the credential (lowercased on the wire).', pattern: /^[A-Za-z0-9-]+$/ },
    value: { kind: 'string', doc: 'The header value; write secrets as `${env:NAME}` or `${file:PATH}` (a file is re-read when it changes).', secret: true },
  },
} as const satisfies Node;

const upstream = {
  kind: 'object',
  doc: 'A downstream API or MCP server, routed by path prefix.',
  fields: {
    prefix: { kind: 'string', doc: 'Path prefix the agent calls, removed before forwarding (`/github/repos/x` → `/repos/x`).', pattern: /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/ },
    url: { kind: 'string', doc: 'Base URL of the upstream (http or https); its path is prepended to the forwarded path.', pattern: /^https?:\/\/[^\s]+$/ },
    timeout: { kind: 'duration', doc: 'Time allowed for the upstream to send response headers, and between body chunks.', def: '30s', min: 1 },
    connect_timeout: { kind: 'duration', doc: 'Time allowed to open a connection.', def: '5s', min: 1 },
    connections: { kind: 'number', doc: 'Keep-alive connections kept in the pool for this upstream.', def: 64, min: 1, integer: true },
    mcp: { kind: 'boolean', doc: 'Treat JSON-RPC 2.0 bodies as MCP calls (fills `input.mcp`; denials answer as JSON-RPC errors).', def: true },
    lanes: { kind: 'map', doc: 'Credential lanes by name (`read`, `write`, `escalation`, ...).', of: lane, def: {}, keyPattern: NAME },
  },
} as const satisfies Node;

const issuer = {
  kind: 'object',
  doc: 'An external token issuer (OIDC, or SPIFFE JWT-SVIDs).',
  fields: {
    name: { kind: 'string', doc: 'Name shown in logs and as `input.agent.issuer` when the token has none.', pattern: NAME },
    issuer: { kind: 'string', doc: 'Expected `iss` claim.' },
    audiences: { kind: 'array', doc: 'Accepted `aud` values; a token must name one.', of: { kind: 'string', doc: 'audience' }, minItems: 1 },
    jwks_url: { kind: 'string', doc: 'JWKS URL, fetched and cached; refetched on an unknown `kid`.', optional: true, pattern: /^https?:\/\/\S+$/ },
    jwks_file: { kind: 'string', doc: 'JWKS file, re-read when it changes (instead of `jwks_url`).', optional: true },
    algorithms: { kind: 'array', doc: 'Accepted signing algorithms (`none` is never accepted).', of: { kind: 'string', doc: 'algorithm', enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] }, def: ['RS256', 'ES256', 'EdDSA'], minItems: 1 },
    spiffe: { kind: 'boolean', doc: 'Require `sub` to be a `spiffe://` id (JWT-SVID).', def: false },
    trust_domain: { kind: 'string', doc: 'With `spiffe`, the trust domain the `sub` must belong to.', optional: true },
    max_lifetime: { kind: 'duration', doc: 'Refuse tokens whose `exp - iat` exceeds this.', def: '1h' },
    jwks_cache: { kind: 'duration', doc: 'How long a fetched JWKS is trusted before a refetch.', def: '5m' },
    agent_claim: { kind: 'string', doc: 'Claim that names the agent (`input.agent.id`).', def: 'sub' },
  },
} as const satisfies Node;

export const configSchema = {
  kind: 'object',
  doc: 'Warden configuration',
  fields: {
    listen: { kind: 'string', doc: 'Address of the proxy listener that agents call.', def: '127.0.0.1:8080', pattern: HOST_PORT },
    state_dir: { kind: 'string', doc: 'Directory of the embedded database (tasks, revocations, usage, approvals) and the task signing key.', def: '.warden' },
    admin: {
      kind: 'object',
      doc: 'The admin listener.',
      fields: {
        listen: { kind: 'string', doc: 'Address of the admin listener (health, ready, metrics, tasks, approvals).', def: '127.0.0.1:8181', pattern: HOST_PORT },
        token: { kind: 'string', doc: 'Bearer token for the admin API (health, ready and metrics need none); at least 16 characters. It also signs in to the console as `admin`.', secret: true },
        approvers: { kind: 'map', doc: 'Named approver tokens for the console (`/console/`): name → `${env:...}` or `${file:...}`, at least 16 characters each. An approver may decide approvals whose policy `approvers` list is empty or names it; the name is recorded with the decision.', of: { kind: 'string', doc: 'approver token', secret: true }, def: {}, keyPattern: NAME },
        session_ttl: { kind: 'duration', doc: 'Longest life of a console session, from sign-in.', def: '8h', min: 60_000 },
        session_idle: { kind: 'duration', doc: 'A console session unused this long ends.', def: '30m', min: 60_000 },
      },
    },
    policy: {
      kind: 'object',
      doc: 'The compiled Rego policy.',
      fields: {
        bundle: { kind: 'string', doc: 'OPA bundle (`.tar.gz`) or a directory with `policy.wasm` and `data.json`.', def: 'bundles/warden.tar.gz' },
        entrypoint: { kind: 'string', doc: 'Entrypoint that gives the decision object.', def: 'warden/decision' },
        mode: { kind: 'string', doc: '`enforce`, or `dry-run`: evaluate and log, but forward everything.', def: 'enforce', enum: ['enforce', 'dry-run'] },
        max_body_bytes: { kind: 'number', doc: 'Largest request body Warden reads for the policy; larger bodies are refused with 413.', def: 1_048_576, min: 0, integer: true },
        max_memory_pages: { kind: 'number', doc: 'Upper bound of the wasm memory in 64 KiB pages; an input that needs more is refused.', def: 512, min: 8, integer: true },
        watch: { kind: 'boolean', doc: 'Reload the bundle when the file changes.', def: true },
        poll_interval: { kind: 'duration', doc: 'How often the bundle file is checked for changes.', def: '1s', min: 50 },
      },
    },
    upstreams: { kind: 'map', doc: 'Upstreams by name.', of: upstream, def: {}, keyPattern: NAME },
    identity: {
      kind: 'object',
      doc: 'Who the agent is: Warden task tokens and external issuers.',
      fields: {
        header: { kind: 'string', doc: 'Header that carries the bearer token.', def: 'authorization', pattern: /^[A-Za-z0-9-]+$/ },
        clock_skew: { kind: 'duration', doc: 'Tolerance for `exp`, `nbf` and `iat`.', def: '30s' },
        task_tokens: {
          kind: 'object',
          doc: 'Task tokens that Warden signs.',
          fields: {
            algorithm: { kind: 'string', doc: 'Signing algorithm.', def: 'EdDSA', enum: ['EdDSA', 'ES256'] },
            key_file: { kind: 'string', doc: 'PKCS#8 PEM private key; generated in `state_dir` when absent.', optional: true },
            issuer: { kind: 'string', doc: '`iss` of task tokens.', def: 'warden' },
            audience: { kind: 'string', doc: '`aud` of task tokens.', def: 'warden' },
            default_ttl: { kind: 'duration', doc: 'TTL of a task created without one.', def: '15m', min: 1000 },
            max_ttl: { kind: 'duration', doc: 'Largest TTL a task may ask for.', def: '8h', min: 1000 },
          },
        },
        issuers: { kind: 'array', doc: 'External issuers whose tokens are accepted.', of: issuer, def: [] },
      },
    },
    tasks: {
      kind: 'object',
      doc: 'Workflow stages and risk levels of tasks.',
      fields: {
        stages: { kind: 'array', doc: 'Allowed stage names.', of: { kind: 'string', doc: 'stage', pattern: NAME }, def: ['plan', 'execute', 'review', 'done'], minItems: 1 },
        risks: { kind: 'array', doc: 'Allowed risk levels.', of: { kind: 'string', doc: 'risk', pattern: NAME }, def: ['low', 'medium', 'high'], minItems: 1 },
        transitions: { kind: 'map', doc: 'Allowed moves: stage → stages it may move to. Empty allows any move.', of: { kind: 'array', doc: 'targets', of: { kind: 'string', doc: 'stage' } }, def: {} },
      },
    },
    step_up: {
      kind: 'object',
      doc: 'Human approval of step-up decisions.',
      fields: {
        webhook: {
          kind: 'object',
          doc: 'Where approval requests are POSTed.',
          optional: true,
          fields: {
            url: { kind: 'string', doc: 'Receiver URL.', pattern: /^https?:\/\/\S+$/ },
            secret: { kind: 'string', doc: 'HMAC-SHA256 key of `Warden-Signature`.', secret: true },
            timeout: { kind: 'duration', doc: 'Time allowed for one delivery.', def: '5s' },
            retries: { kind: 'number', doc: 'Further attempts after a failed delivery (connection error or 5xx).', def: 3, min: 0, max: 10, integer: true },
            backoff: { kind: 'duration', doc: 'First retry delay, doubled on each attempt.', def: '200ms' },
          },
        },
        hold: { kind: 'duration', doc: 'How long a request waits for a decision before the agent gets the step-up answer; 0 answers at once.', def: '0s' },
        ttl: { kind: 'duration', doc: 'Lifetime of an approval, pending or granted.', def: '10m', min: 1000 },
        retry_after: { kind: 'duration', doc: '`Retry-After` sent with the step-up answer.', def: '5s' },
        body_preview_bytes: { kind: 'number', doc: 'How much of the request body the webhook event may show (0: none).', def: 0, min: 0, max: 4096, integer: true },
        approval_url: { kind: 'string', doc: 'URL of one approval\'s page, `{id}` replaced by the approval id; carried as `approval_url` in the webhook event. Default: the admin listener\'s `/console/approvals/{id}` at its bound address (set it when the console is reached through another host name or TLS).', optional: true, pattern: /^https?:\/\/[^\s{}]+\{id\}[^\s{}]*$/ },
      },
    },
    decision_log: {
      kind: 'object',
      doc: 'One JSON line per decision.',
      fields: {
        path: { kind: 'string', doc: '`stdout`, `stderr` or a file path (appended). Lines are written synchronously, once per event-loop turn; in production prefer a file: a stalled stdout pipe stalls the proxy.', def: 'stdout' },
        mask: { kind: 'array', doc: 'Input paths replaced by `"**REDACTED**"` in the log (`input.request.body.password`).', of: { kind: 'string', doc: 'path', pattern: /^input(\.[A-Za-z0-9_-]+)+$/ }, def: [] },
        max_body_bytes: { kind: 'number', doc: 'Request bodies larger than this are logged as `"**TRUNCATED**"` (their digest and size stay in the input).', def: 65_536, min: 0, integer: true },
        level: { kind: 'string', doc: 'Level of Warden\'s own operational log (stderr).', def: 'info', enum: ['debug', 'info', 'warn', 'error', 'silent'] },
      },
    },
  },
} as const satisfies Node;

export type WardenConfig = Infer<typeof configSchema>;
export type UpstreamConfig = WardenConfig['upstreams'][string];
export type LaneConfig = UpstreamConfig['lanes'][string];
export type IssuerConfig = WardenConfig['identity']['issuers'][number];
