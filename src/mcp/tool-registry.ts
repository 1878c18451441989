// Tool definitions per upstream, as `tools/list` results show them (rug-pull defence). Every
// listing passing through Warden is digested tool by tool; the pin a digest is compared with comes
// from the bundle (`data.warden.tool_pins[upstream][tool]`) when it has one, else from the store
// (the first definition seen: trust on first use; or one an operator accepted with
// `POST /v1/tools/{upstream}/{tool}/pin`). A drift is reported once per new digest as the
// lifecycle event `tool.changed`. Calls then carry `input.mcp.tool_definition`.

import type { ToolPinStore, ToolRecord } from '../store/tool-pins.js';
import { andThen, type Awaitable } from '../store/awaitable.js';
import { paramDeclarations, type ParamDeclaration } from './request-headers.js';
import { bundlePins, pinStatus, toolDefinitionInput, toolDigest, type PinStatus, type ToolDefinitionInput } from './tool-digest.js';

export interface ToolChanged {
  readonly upstream: string;
  readonly tool: string;
  readonly pinned: string;
  readonly digest: string;
}

export interface ToolView {
  readonly upstream: string;
  readonly tool: string;
  readonly digest: string;
  readonly pin: string;
  readonly pin_source: 'bundle' | 'store';
  readonly status: PinStatus;
  readonly first_seen_at: string;
  readonly seen_at: string;
  readonly pinned_at: string;
}

export interface ToolRegistryDeps {
  readonly store: ToolPinStore;
  /** The live bundle's data (pins under `warden.tool_pins`). */
  readonly bundleData: () => unknown;
  readonly onChanged: (e: ToolChanged) => void;
  readonly now?: () => number;
}

const key = (upstream: string, tool: string): string => `${upstream}\u0000${tool}`;

export class ToolRegistry {
  readonly #deps: ToolRegistryDeps;
  /** x-mcp-header declarations of the last definition seen (for Mcp-Param-* checks). */
  readonly #declarations = new Map<string, readonly ParamDeclaration[]>();
  /** The last drifted digest reported per tool, so a drift is one event, not one per listing. */
  readonly #reported = new Map<string, string>();

  constructor(deps: ToolRegistryDeps) {
    this.#deps = deps;
  }

  #bundlePin(upstream: string, tool: string): string | undefined {
    return bundlePins(this.#deps.bundleData(), upstream).get(tool);
  }

  #pinOf(rec: ToolRecord): { pin: string; source: 'bundle' | 'store' } {
    const b = this.#bundlePin(rec.upstream, rec.tool);
    return b === undefined ? { pin: rec.pin, source: 'store' } : { pin: b, source: 'bundle' };
  }

  /** Record the tools of one listing; resolves with each listed tool's definition input by name. */
  observe(upstream: string, tools: readonly Record<string, unknown>[]): Awaitable<Map<string, ToolDefinitionInput>> {
    const now = (this.#deps.now ?? Date.now)();
    const out = new Map<string, ToolDefinitionInput>();
    let chain: Awaitable<void> = undefined;
    for (const t of tools) {
      if (typeof t.name !== 'string') continue;
      const name = t.name;
      const digest = toolDigest(t);
      this.#declarations.set(key(upstream, name), paramDeclarations(t.inputSchema));
      chain = andThen(chain, () =>
        andThen(this.#deps.store.observe(upstream, name, digest, now), (rec) => {
          const { pin } = this.#pinOf(rec);
          const def = toolDefinitionInput(digest, pin)!;
          out.set(name, def);
          const k = key(upstream, name);
          if (def.status === 'changed' && this.#reported.get(k) !== digest) {
            this.#reported.set(k, digest);
            this.#deps.onChanged({ upstream, tool: name, pinned: pin, digest });
          }
        }),
      );
    }
    return andThen(chain, () => out);
  }

  /** `input.mcp.tool_definition` of a call: undefined while no listing showed the tool. */
  definition(upstream: string, tool: string): Awaitable<ToolDefinitionInput | undefined> {
    return andThen(this.#deps.store.get(upstream, tool), (rec) => (rec === undefined ? undefined : toolDefinitionInput(rec.seen, this.#pinOf(rec).pin)));
  }

  declarations(upstream: string, tool: string): readonly ParamDeclaration[] | undefined {
    return this.#declarations.get(key(upstream, tool));
  }

  async list(): Promise<ToolView[]> {
    const iso = (ms: number): string => new Date(ms).toISOString();
    return (await this.#deps.store.list()).map((rec) => {
      const { pin, source } = this.#pinOf(rec);
      return { upstream: rec.upstream, tool: rec.tool, digest: rec.seen, pin, pin_source: source, status: pinStatus(rec.seen, pin), first_seen_at: iso(rec.first_seen_at), seen_at: iso(rec.seen_at), pinned_at: iso(rec.pinned_at) };
    });
  }

  /** Accept the definition last seen as the store's pin (a bundle pin still wins over it). */
  async pin(upstream: string, tool: string): Promise<ToolView | undefined> {
    const rec = await this.#deps.store.pin(upstream, tool, (this.#deps.now ?? Date.now)());
    if (!rec) return undefined;
    this.#reported.delete(key(upstream, tool));
    return (await this.list()).find((v) => v.upstream === upstream && v.tool === tool);
  }
}
