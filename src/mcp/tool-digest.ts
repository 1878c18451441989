// Tool definition pinning (rug-pull defence): a digest of what a server tells the agent about a
// tool, so a definition that changes after it was reviewed is seen. The digest covers the parts
// an agent (and the model behind it) acts on: name, title, description, input and output schema,
// annotations; not `_meta` or icons. Keys are sorted at every depth, so a server that reorders
// its JSON keeps its digest.

import { createHash } from 'node:crypto';

export type PinStatus = 'pinned' | 'changed' | 'unpinned';

export interface ToolDefinitionInput {
  readonly digest: string;
  readonly pinned?: string;
  readonly status: PinStatus;
}

const DIGESTED = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

/** JSON with object keys sorted at every depth (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `sha256:<hex>` of a tool definition as listed by `tools/list`. */
export function toolDigest(tool: Record<string, unknown>): string {
  const picked: Record<string, unknown> = {};
  for (const k of DIGESTED) if (tool[k] !== undefined) picked[k] = tool[k];
  return `sha256:${createHash('sha256').update(canonicalJson(picked)).digest('hex')}`;
}

export function pinStatus(digest: string, pin: string | undefined): PinStatus {
  if (pin === undefined) return 'unpinned';
  return pin === digest ? 'pinned' : 'changed';
}

/** `input.mcp.tool_definition` for a call, from the definition's digest (if seen) and its pin. */
export function toolDefinitionInput(digest: string | undefined, pin: string | undefined): ToolDefinitionInput | undefined {
  if (digest === undefined) return undefined;
  return { digest, ...(pin !== undefined && { pinned: pin }), status: pinStatus(digest, pin) };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Pins from bundle data (`data.warden.tool_pins[upstream][tool]`): well-formed entries only. */
export function bundlePins(data: unknown, upstream: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  const root = data as { warden?: { tool_pins?: Record<string, Record<string, unknown>> } } | undefined;
  const pins = root?.warden?.tool_pins?.[upstream];
  if (pins === null || typeof pins !== 'object') return out;
  for (const [tool, digest] of Object.entries(pins)) if (typeof digest === 'string' && DIGEST.test(digest)) out.set(tool, digest);
  return out;
}
