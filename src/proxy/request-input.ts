// Building the policy input for one request (DESIGN.md "Policy contract"). Fields are absent when
// unknown, never guessed; credentials never enter it.
//
// The input is serialized once per request (the policy reads that text, and the decision log
// splices it in). Its agent and the task's fields other than `usage` are the same from one request
// of a task to the next: their JSON is made once per frozen object and reused, which makes the
// whole text about 40 % cheaper than JSON.stringify of the input (bench/HISTORY.md, issue 15).
// serializeInput(x) is exactly JSON.stringify(x) (test/unit/proxy/request-input.test.ts).

import { frozenJson } from '../frozen-json.js';
import { timeInput, type AgentInput, type ApprovalInput, type McpInput, type PolicyInput, type RequestInput, type TaskInput, type TimeInput } from '../policy/types.js';

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

/** A registered agent (frozen all through) or a task token's (frozen, with frozen claims): its JSON made once. */
function agentJson(agent: AgentInput): string {
  return Object.isFrozen(agent.claims) ? frozenJson(agent) : JSON.stringify(agent);
}

/** A task's JSON up to `"usage":`, by its (frozen) user object: each update of a task record makes a new one. */
interface TaskHead {
  readonly task: Omit<TaskInput, 'usage' | 'user'>;
  readonly text: string;
}
const taskHeads = new WeakMap<object, TaskHead>();

/** The fields before `usage`, in the order the authenticator builds a task (JSON.stringify's order). */
function sameHead(a: Omit<TaskInput, 'usage' | 'user'>, b: TaskInput): boolean {
  return a.id === b.id && a.stage === b.stage && a.risk === b.risk && a.scopes === b.scopes && a.expires_at === b.expires_at;
}

function taskJson(task: TaskInput): string {
  const { usage } = task;
  // Only the authenticator's shape (these keys in this order) takes the cached path.
  if (!hasKeys(task, TASK_KEYS) || !hasKeys(usage, USAGE_KEYS) || !Object.isFrozen(task.user) || !Object.isFrozen(task.scopes) ||
    !Number.isSafeInteger(usage.calls) || !Number.isSafeInteger(usage.stage_calls)) {
    return JSON.stringify(task);
  }
  let head = taskHeads.get(task.user);
  if (head === undefined || !sameHead(head.task, task)) {
    const { usage: _usage, ...rest } = task;
    const text = JSON.stringify(rest);
    head = { task: { id: task.id, stage: task.stage, risk: task.risk, scopes: task.scopes, expires_at: task.expires_at }, text: `${text.slice(0, -1)},"usage":` };
    taskHeads.set(task.user, head);
  }
  return `${head.text}{"calls":${usage.calls},"stage_calls":${usage.stage_calls}}}`;
}
const TASK_KEYS: readonly string[] = ['id', 'stage', 'risk', 'user', 'scopes', 'expires_at', 'usage'];
const USAGE_KEYS: readonly string[] = ['calls', 'stage_calls'];

/** Does `o` have exactly these own enumerable keys, in this order? (for-in: no array per call) */
function hasKeys(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k) || k !== keys[i]) return false;
    i++;
  }
  return i === keys.length;
}

/** `input.time` changes once a millisecond: its text is kept for that millisecond. */
let lastTime: TimeInput | undefined;
let lastTimeText = '';
function timeJson(time: TimeInput): string {
  if (lastTime === undefined || time.now_ns !== lastTime.now_ns || time.rfc3339 !== lastTime.rfc3339) {
    lastTime = time;
    lastTimeText = JSON.stringify(time);
  }
  return lastTimeText;
}

/** The input as JSON text: exactly JSON.stringify(input), its repeating parts reused. */
export function serializeInput(input: PolicyInput): string {
  let text = `{"request":${JSON.stringify(input.request)},"time":${timeJson(input.time)}`;
  if (input.mcp !== undefined) text += `,"mcp":${JSON.stringify(input.mcp)}`;
  if (input.agent !== undefined) text += `,"agent":${agentJson(input.agent)}`;
  if (input.task !== undefined) text += `,"task":${taskJson(input.task)}`;
  if (input.approval !== undefined) text += `,"approval":${JSON.stringify(input.approval)}`;
  return `${text}}`;
}
