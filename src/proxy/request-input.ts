// Building the policy input for one request (DESIGN.md "Policy contract"). Fields are absent when
// unknown, never guessed; credentials never enter it.

import { timeInput, type AgentInput, type ApprovalInput, type McpInput, type PolicyInput, type RequestInput, type TaskInput } from '../policy/types.js';

export interface InputParts {
  readonly request: RequestInput;
  readonly mcp: McpInput | undefined;
  readonly agent: AgentInput | undefined;
  readonly task: TaskInput | undefined;
  readonly approval?: ApprovalInput | undefined;
  readonly nowMs: number;
}

export function buildInput(p: InputParts): PolicyInput {
  const input: PolicyInput = {
    request: p.request,
    time: timeInput(p.nowMs),
  };
  if (p.mcp) input.mcp = p.mcp;
  if (p.agent) input.agent = p.agent;
  if (p.task) input.task = p.task;
  if (p.approval) input.approval = p.approval;
  return input;
}
