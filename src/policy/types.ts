// The policy contract of DESIGN.md: input fields are absent when unknown, never guessed.

import { isoTimeFormatter } from '../iso-time.js';

export interface RequestInput {
  id: string;
  method: string;
  upstream: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  body: unknown;
  /** A URL-encoded form body, `{k: [v]}`. */
  form?: Record<string, string[]>;
  body_digest: string;
  content_type?: string;
  size: number;
}

export type McpKind = 'request' | 'notification' | 'response' | 'stream' | 'session_end' | 'listing';

/** `input.mcp`: on every request to an MCP upstream (DESIGN.md "Policy contract"). */
export interface McpInput {
  kind: McpKind;
  /** The JSON-RPC method; for a `response`, the server request it answers when Warden relayed it. */
  method?: string;
  id?: string | number | null;
  /** Target of tools/call. */
  tool?: string;
  /** Target of prompts/get. */
  name?: string;
  /** Target of resources/read, resources/subscribe, resources/unsubscribe. */
  uri?: string;
  arguments?: unknown;
  protocol_version?: string;
  session_id?: string;
  tool_definition?: { digest: string; pinned?: string; status: 'pinned' | 'changed' | 'unpinned' };
}

export interface AgentInput {
  id: string;
  issuer: string;
  claims: Record<string, unknown>;
  /** From the agent registry; absent for an unregistered agent (`registered_agents_only: false`). */
  owner?: string;
  status?: 'active' | 'suspended' | 'retired';
  scopes?: string[];
}

export interface TaskUsage {
  /** Calls of this task forwarded so far (before this one). */
  calls: number;
  /** Calls forwarded so far in the task's current stage. */
  stage_calls: number;
}

export interface TaskInput {
  id: string;
  stage: string;
  risk: string;
  user: { id: string; [k: string]: unknown };
  scopes: string[];
  expires_at: string;
  usage: TaskUsage;
}

export interface ApprovalInput {
  id: string;
  approver: string;
  approved_at: string;
}

export type TimeInput = PolicyInput['time'];

const rfc3339 = isoTimeFormatter();

/** `input.time` for a moment (wasm has no time builtins, so the caller supplies the clock). */
export function timeInput(nowMs: number): TimeInput {
  return { now_ns: nowMs * 1_000_000, rfc3339: rfc3339(nowMs) };
}

export interface PolicyInput {
  request: RequestInput;
  mcp?: McpInput;
  agent?: AgentInput;
  task?: TaskInput;
  approval?: ApprovalInput;
  time: { now_ns: number; rfc3339: string };
}

interface DecisionBase {
  reason?: string;
  risk?: string;
  headers: Record<string, string>;
}
/** The policy's `credential`: narrows a just-in-time lane credential for one call. */
export interface CredentialNarrowing {
  scope?: string;
  resource?: string;
}
export interface AllowDecision extends DecisionBase {
  decision: 'allow';
  lane?: string;
  credential?: CredentialNarrowing;
}
export interface DenyDecision extends DecisionBase {
  decision: 'deny';
}
export interface StepUpDecision extends DecisionBase {
  decision: 'step_up';
  approvers: string[];
  lane?: string;
  credential?: CredentialNarrowing;
}
export type Decision = AllowDecision | DenyDecision | StepUpDecision;
