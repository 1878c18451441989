// One registry of coded errors (undici lib/core/errors.js, fastify lib/errors.js).
// Each code has an HTTP status and a public message. Callers match on `err.code`; the same
// codes label metrics and decision-log records. README's errors table is checked against this
// registry by test/unit/errors.test.ts, so a new code cannot ship undocumented.

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  /** How an operator fixes it; rendered in the README errors table. */
  readonly fix: string;
}

export const ERRORS = {
  // --- configuration and start-up -------------------------------------------------------
  CONFIG_INVALID: { status: 500, message: 'configuration is invalid', fix: 'Correct the key named in the message; `warden run --help` lists the options and docs/configuration.md every key.' },
  CONFIG_SECRET_UNRESOLVED: { status: 500, message: 'a ${env:} or ${file:} reference could not be resolved', fix: 'Export the variable or create the file that the message names.' },
  // --- policy ------------------------------------------------------------------------------
  POLICY_NOT_LOADED: { status: 503, message: 'no policy is loaded', fix: 'Build the bundle (`npm run policy:build`) and check `policy.bundle`; `/ready` turns 200 once it loads.' },
  POLICY_BUNDLE_INVALID: { status: 503, message: 'the policy bundle could not be loaded', fix: 'Rebuild the bundle with `opa build -t wasm -e warden/decision`; the last good bundle keeps serving meanwhile.' },
  POLICY_ENTRYPOINT_MISSING: { status: 503, message: 'the policy bundle lacks the configured entrypoint', fix: 'Build with `-e <policy.entrypoint>` (default `warden/decision`).' },
  POLICY_BUNDLE_UNVERIFIED: { status: 503, message: 'the policy bundle signature did not verify', fix: 'Sign the bundle with the key that `policy.verification` names (`opa build -b --signing-key`, or `npm run policy:build -- --signing-key KEY`); the last good bundle keeps serving meanwhile.' },
  POLICY_BUNDLE_FETCH_FAILED: { status: 503, message: 'the policy bundle could not be downloaded', fix: 'Check `policy.service.url`, `resource` and credentials; the last good (or persisted) bundle keeps serving, `/ready` and `warden_bundle_fetch_failure_timestamp_seconds` show the state.' },
  POLICY_EVAL_FAILED: { status: 503, message: 'the policy failed to evaluate', fix: 'Run the input through `warden eval` and `opa test`; look for runtime errors such as conflicting rule values.' },
  POLICY_RESULT_INVALID: { status: 503, message: 'the policy returned a result of the wrong shape', fix: 'Make `decision` an object `{decision: "allow"|"deny"|"step_up", ...}` as the README policy contract says.' },
  POLICY_INPUT_TOO_LARGE: { status: 413, message: 'the policy input is too large to evaluate', fix: 'Lower the request size or raise `policy.max_memory_pages`.' },
  // --- state store ---------------------------------------------------------------------------
  STORE_UNAVAILABLE: { status: 503, message: 'the shared state store cannot confirm this request', fix: 'Check that Redis (`store.url`) is reachable; the sidecar recovers by itself once it can confirm state again within `store.max_staleness`.' },
  STORE_MIGRATION_REFUSED: { status: 500, message: 'the state cannot be migrated', fix: 'Run `warden store migrate --from sqlite --to redis --config FILE` with the configuration of the fleet (`store.kind: redis`) and `--state-dir` naming the SQLite Warden\'s state_dir (the one holding `warden.db`).' },
  // --- request -----------------------------------------------------------------------------
  REQUEST_MALFORMED: { status: 400, message: 'the request is not valid HTTP/1.1', fix: 'Send one Content-Length or Transfer-Encoding: chunked (never both), well-formed header lines and a valid request line.' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request headers did not arrive in time', fix: 'Send the whole header block at once; the connection is closed after the server\'s headers timeout.' },
  EXPECTATION_FAILED: { status: 417, message: 'the Expect header is not supported', fix: 'Send no `Expect`, or `Expect: 100-continue`.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no upstream serves this path', fix: 'Call Warden at `/<upstream prefix>/...` as `upstreams.*.prefix` configures.' },
  PATH_INVALID: { status: 400, message: 'the request path is not acceptable', fix: 'Send a path without dot segments or encoded slashes that would leave the upstream prefix.' },
  OVERRIDE_REFUSED: { status: 400, message: 'method and URL overrides are not accepted', fix: 'Send the real method and path on the request line; drop `X-HTTP-Method-Override`, `X-Original-URL` and `_method`.' },
  CONNECTION_HEADER_REFUSED: { status: 400, message: 'the Connection header names a header of this request', fix: 'List only hop-by-hop headers (`close`, `keep-alive`, `upgrade`) in `Connection`.' },
  HEADER_VALUE_REFUSED: { status: 400, message: 'a header value is not ASCII', fix: 'Send header values in ASCII; percent- or base64-encode other text (RFC 9110 obs-text is read as latin1 by some stacks and UTF-8 by others).' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request headers exceed the limit', fix: 'Send fewer or smaller headers, or raise `upstreams.<name>.max_header_count` / `max_header_bytes` to what the upstream accepts.' },
  BODY_TOO_LARGE: { status: 413, message: 'the request body exceeds the limit', fix: 'Send a smaller body or raise `policy.max_body_bytes`.' },
  BODY_INVALID_JSON: { status: 400, message: 'the request body is not valid JSON', fix: 'Send well-formed JSON or a non-JSON content type.' },
  MCP_BATCH_REFUSED: { status: 400, message: 'JSON-RPC batches are not accepted', fix: 'Send one JSON-RPC request per HTTP request, as MCP clients do.' },
  BODY_AMBIGUOUS: { status: 400, message: 'the request body could be read differently by the upstream', fix: 'Send strict UTF-8 JSON without duplicate keys, lone surrogates or numbers a double cannot hold exactly (send those as strings), and form bodies with `&`-separated, well-formed escapes.' },
  BODY_TOO_DEEP: { status: 400, message: 'the request body is nested too deeply', fix: 'Flatten the JSON body or raise `policy.max_json_depth`.' },
  BODY_TYPE_UNSUPPORTED: { status: 415, message: 'the body type, charset or encoding cannot be shown to the policy', fix: 'Send JSON or a URL-encoded form in UTF-8, without Content-Encoding; multipart bodies are not accepted.' },
  MCP_HEADER_MISMATCH: { status: 400, message: 'the MCP request headers do not match its body', fix: 'Send MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* exactly as the JSON-RPC body says (MCP 2026-07-28); JSON-RPC error -32020.' },
  MCP_REQUEST_STATE_INVALID: { status: 400, message: 'the requestState of this retry is not one Warden issued for this call', fix: 'Echo the requestState of the last input_required result unchanged, for the same task and call, before it expires (MCP 2026-07-28); or send the call afresh, which asks for a new approval. JSON-RPC error -32602.' },
  ORIGIN_REFUSED: { status: 403, message: 'requests from this browser origin are not accepted', fix: 'Call Warden from the agent, not a web page; list a trusted web origin in `allowed_origins`.' },
  BODY_READ_FAILED: { status: 400, message: 'the request body could not be read', fix: 'The client closed or broke the request stream; retry.' },
  // --- identity ------------------------------------------------------------------------------
  TOKEN_MISSING: { status: 401, message: 'a bearer token is required', fix: 'Send the task token as `Authorization: Bearer <token>` (or the header `identity.header` names).' },
  TOKEN_INVALID: { status: 401, message: 'the token is invalid', fix: 'Use a token from `POST /v1/tasks` or a configured issuer, unexpired and signed with an allowed algorithm.' },
  TOKEN_EXPIRED: { status: 401, message: 'the token has expired', fix: 'Create a new task or fetch a fresh token from the issuer.' },
  TOKEN_REVOKED: { status: 401, message: 'the task of this token was revoked or has ended', fix: 'Create a new task; a revoked task never passes again.' },
  AGENT_NOT_REGISTERED: { status: 401, message: 'the identity maps to no registered agent', fix: 'Register the agent with `POST /v1/agents` and list its issuer and subject under `subjects` (or set `identity.registered_agents_only: false`).' },
  AGENT_INACTIVE: { status: 401, message: 'the agent is suspended or retired', fix: 'An owner reactivates a suspended agent with `PATCH /v1/agents/{id} {"status": "active"}`; a retired agent never passes again.' },
  JWKS_UNAVAILABLE: { status: 401, message: 'the signing keys of the issuer could not be fetched', fix: 'Check `identity.issuers[].jwks_url` is reachable from Warden.' },
  // --- decisions -----------------------------------------------------------------------------
  POLICY_DENIED: { status: 403, message: 'the policy denied this request', fix: 'Read `reason`; the task stage, risk or user role does not allow this call.' },
  APPROVAL_REQUIRED: { status: 401, message: 'a human must approve this call first', fix: 'Wait for the approval (admin API or webhook receiver) and retry the identical call.' },
  APPROVAL_DENIED: { status: 403, message: 'an approver denied this call', fix: 'Read `reason`; the identical call stays denied until the approval expires.' },
  LANE_UNDEFINED: { status: 403, message: 'the policy picked a credential lane this upstream does not define', fix: 'Define the lane under `upstreams.<name>.lanes` or fix the policy.' },
  // --- upstream ------------------------------------------------------------------------------
  UPSTREAM_UNREACHABLE: { status: 502, message: 'the upstream could not be reached', fix: 'Check `upstreams.<name>.url` and that the service is up.' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'the upstream did not answer in time', fix: 'Raise `upstreams.<name>.timeout` or fix the slow service.' },
  CREDENTIAL_ISSUER_UNAVAILABLE: { status: 503, message: 'the authorization server did not issue the lane\'s credential', fix: 'Check that `lanes.<name>.oauth.token_url` is reachable and that the client may use the grant, scope and resource; the call was neither forwarded nor counted.' },
  UPSTREAM_CREDENTIAL_UNAVAILABLE: { status: 503, message: 'the credential of the chosen lane is unavailable', fix: 'Check the `${env:}` or `${file:}` source of the lane.' },
  // --- admin API -----------------------------------------------------------------------------
  ADMIN_UNAUTHORIZED: { status: 401, message: 'the admin token is missing or wrong', fix: 'Send `Authorization: Bearer <admin.token>`.' },
  ADMIN_NOT_FOUND: { status: 404, message: 'no such resource', fix: 'Check the id; tasks and approvals expire.' },
  ADMIN_BAD_REQUEST: { status: 400, message: 'the request is malformed', fix: 'Read the message for the field at fault.' },
  ADMIN_READ_ONLY: { status: 403, message: 'this admin listener does not accept writes', fix: 'Send writes (tasks, approvals, agents, tool pins) to the control plane (`warden control`); this sidecar runs with `admin.write_api: false`.' },
  TASK_SIGNER_ELSEWHERE: { status: 403, message: 'this process holds no task-signing key', fix: 'Create tasks on the control plane (`warden control`): in a fleet (`store.kind: redis`) only it signs task tokens.' },
  CONSOLE_SIGNIN_FAILED: { status: 401, message: 'the token is not an admin or approver token', fix: 'Sign in with `admin.token` or a token of `admin.approvers`; every attempt is logged as `console.refused`.' },
  CONSOLE_SESSION_REQUIRED: { status: 401, message: 'sign in first: the console session is missing or has ended', fix: 'Sign in again; sessions end after `admin.session_idle` unused or `admin.session_ttl`, and on restart.' },
  CONSOLE_CSRF_REFUSED: { status: 403, message: 'the form did not come from this console session', fix: 'Reload the page and submit again; posts from other sites, or without the session\'s form token, are refused.' },
  CONSOLE_NOT_APPROVER: { status: 403, message: 'the policy names other approvers for this call', fix: 'Ask an approver the policy names (`approvers` of its result), or sign in with the admin token.' },
  AGENT_EXISTS: { status: 409, message: 'an agent with this id or subject is already registered', fix: 'Pick another id, or remove the subject from the agent that holds it.' },
  AGENT_REFUSED: { status: 409, message: 'the agent is not registered, not active, or retired', fix: 'Register the agent (`POST /v1/agents`) or reactivate it; a retired agent cannot change or get tasks.' },
  AGENT_CEILING_EXCEEDED: { status: 403, message: 'the task asks for more than its agent\'s ceiling', fix: 'Ask for scopes within the agent\'s `scopes` and a risk up to its `max_risk`, or widen the agent first.' },
  TASK_TRANSITION_REFUSED: { status: 409, message: 'the task cannot move to that stage', fix: 'Follow `tasks.transitions`, or revoke and create a new task.' },
  APPROVAL_CONFLICT: { status: 409, message: 'the approval is no longer pending', fix: 'It was decided, used or expired; read it with `GET /v1/approvals/{id}`.' },
  AUDIT_WRITE_FAILED: { status: 500, message: 'the decision log could not be written', fix: 'Check free space and permissions at `decision_log.path`; `warden_errors_total{code="AUDIT_WRITE_FAILED"}` counts the failures.' },
  AUDIT_SHIP_FAILED: { status: 502, message: 'decision-log events could not be delivered to the collector', fix: 'Check `decision_log.service.url` (events are POSTed to `<url>/logs`) and credentials; events stay buffered and are retried with backoff.' },
  AUDIT_BUFFER_FULL: { status: 500, message: 'the decision-log shipping buffer is full; events were dropped', fix: 'Bring the collector back or raise `decision_log.service.max_buffer_bytes`; `warden_decision_log_dropped_total` counts the drops, the local log keeps every line.' },
  // --- lifecycle -----------------------------------------------------------------------------
  SHUTTING_DOWN: { status: 503, message: 'warden is shutting down', fix: 'Retry against the replacement instance.' },
  INTERNAL: { status: 500, message: 'internal error', fix: 'A bug: report it with the decision id from the log.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** A coded error. `detail` is for logs and operators; it never goes to the agent. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message, options);
    this.name = 'WardenError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
  }

  /** The public body: code and fixed message only, never request data or internal text. */
  toPublic(): { error: string; message: string } {
    return { error: this.code, message: ERRORS[this.code].message };
  }
}

export function isWardenError(err: unknown): err is WardenError {
  return err instanceof WardenError;
}

/** Wrap anything thrown (opa-wasm throws strings and plain objects) into a coded error. */
export function toWardenError(err: unknown, code: ErrorCode = 'INTERNAL'): WardenError {
  if (err instanceof WardenError) return err;
  return new WardenError(code, describeThrown(err), { cause: err });
}

export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function assertNever(value: never): never {
  throw new WardenError('INTERNAL', `unexpected kind ${JSON.stringify(value)}`);
}
