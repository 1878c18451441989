// The policy engine over @open-policy-agent/opa-wasm. One compiled policy is live at a time;
// `load()` builds a new one beside it and swaps the reference only once the new one has passed
// every check, so a broken bundle never replaces a good one and evaluation (synchronous) never
// sees a half-loaded policy.

import { Buffer } from 'node:buffer';
import { deepFreeze } from '../deep-freeze.js';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { WardenError, describeThrown } from '../errors.js';
import { parseBundle, readBundleFiles, unpackBundle, type BundleFiles } from './bundle.js';
import { parseDecision } from './decision.js';
import type { BundleVerifier } from './signature.js';
import type { Decision } from './types.js';

export interface PolicySnapshot {
  readonly revision: string;
  readonly loadedAt: Date;
  readonly source: string;
}

interface Live extends PolicySnapshot {
  readonly policy: LoadedPolicy;
  readonly data: Readonly<Record<string, unknown>>;
  readonly entrypointId: number;
  /** The parsed decision of each result text seen (results repeat: a few per policy). */
  readonly decisions: Map<string, Decision>;
}

/** What `LoadedPolicy` holds for its ABI 1.2 `evaluate()` (opa-wasm's src/opa.js). */
interface PolicyInternals {
  readonly minorVersion: number;
  readonly mem: WebAssembly.Memory;
  readonly dataAddr: number;
  readonly dataHeapPtr: number;
  readonly wasmInstance: { readonly exports: { opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number): number } };
}

/** Distinct result texts kept parsed per policy; past it the cache starts over. */
const MAX_CACHED_DECISIONS = 256;

export interface EngineOptions {
  readonly entrypoint: string;
  /** Upper bound of the wasm memory, in 64 KiB pages. */
  readonly maxMemoryPages: number;
  /** When set, only bundles whose signature verifies are loaded (`policy.verification`). */
  readonly verifier?: BundleVerifier;
}

const INITIAL_PAGES = 8;
const encoder = new TextEncoder();

export class PolicyEngine {
  readonly #opts: EngineOptions;
  #live: Live | undefined;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
  }

  get snapshot(): PolicySnapshot | undefined {
    const l = this.#live;
    return l && { revision: l.revision, loadedAt: l.loadedAt, source: l.source };
  }

  get revision(): string | undefined {
    return this.#live?.revision;
  }

  /** The live bundle's data (`data.json`), e.g. the tool pins under `warden.tool_pins`. */
  get data(): Readonly<Record<string, unknown>> | undefined {
    return this.#live?.data;
  }

  /** Load a bundle and make it live. Throws a coded error and keeps the old policy on failure. */
  async load(source: string): Promise<PolicySnapshot> {
    return this.#activate(source, await readBundleFiles(source));
  }

  /** Load a downloaded `.tar.gz` (`source` names it in errors and the snapshot). */
  async loadArchive(source: string, gz: Buffer): Promise<PolicySnapshot> {
    return this.#activate(source, await unpackBundle(source, gz));
  }

  async #activate(source: string, files: BundleFiles): Promise<PolicySnapshot> {
    await this.#opts.verifier?.verify(files);
    const bundle = parseBundle(source, files);
    const { entrypoint, maxMemoryPages } = this.#opts;
    if (bundle.manifestEntrypoints.length > 0 && !bundle.manifestEntrypoints.includes(entrypoint)) {
      throw new WardenError('POLICY_ENTRYPOINT_MISSING', `${source} declares ${bundle.manifestEntrypoints.join(', ')}, not ${entrypoint}`);
    }
    let policy: LoadedPolicy;
    try {
      const module = await WebAssembly.compile(new Uint8Array(bundle.wasm));
      policy = await loadPolicy(module, { initial: Math.min(INITIAL_PAGES, maxMemoryPages), maximum: maxMemoryPages });
      policy.setData(bundle.data);
    } catch (err) {
      throw new WardenError('POLICY_BUNDLE_INVALID', `${source}: ${describeThrown(err)}`, { cause: err });
    }
    const entrypoints = policy.entrypoints as Record<string, number>;
    const entrypointId = entrypoints[entrypoint];
    if (typeof entrypointId !== 'number') {
      throw new WardenError('POLICY_ENTRYPOINT_MISSING', `${source} has entrypoints ${Object.keys(entrypoints).join(', ') || '(none)'}, not ${entrypoint}`);
    }
    this.#live = { policy, data: bundle.data, entrypointId, revision: bundle.revision, loadedAt: new Date(), source, decisions: new Map() };
    return this.snapshot!;
  }

  /**
   * Evaluate one input. `inputJson` is the input already serialized (the caller keeps it for the
   * decision log, so it is serialized once).
   */
  evaluate(inputJson: string): { decision: Decision; revision: string } {
    const live = this.#live;
    if (!live) throw new WardenError('POLICY_NOT_LOADED');
    let text: string;
    try {
      text = evalText(live, inputJson);
    } catch (err) {
      throw classifyEvalError(err);
    }
    let decision = live.decisions.get(text);
    if (decision === undefined) {
      decision = deepFreeze(parseDecision(JSON.parse(text)));
      if (live.decisions.size >= MAX_CACHED_DECISIONS) live.decisions.clear();
      live.decisions.set(text, decision);
    }
    return { decision, revision: live.revision };
  }
}

/**
 * The result set of one evaluation, as the JSON text the policy wrote. The input text is encoded
 * straight into the wasm memory and the result read out of it, as opa-wasm's ABI 1.2
 * `evaluate()` does but without its copies (an encoded buffer, a byte-by-byte scan).
 */
function evalText(live: Live, inputJson: string): string {
  const p = live.policy as unknown as PolicyInternals;
  if (!(p.minorVersion >= 2)) return JSON.stringify(live.policy.evaluate(encoder.encode(inputJson).buffer as ArrayBuffer, live.entrypointId));
  const inputAddr = p.dataHeapPtr;
  // UTF-8 takes at most 3 bytes per UTF-16 unit; grow (as opa-wasm does) only when that may not fit.
  if (inputAddr + inputJson.length * 3 > p.mem.buffer.byteLength) {
    const delta = inputAddr + Buffer.byteLength(inputJson) - p.mem.buffer.byteLength;
    if (delta > 0) p.mem.grow(Math.ceil(delta / 65536));
  }
  const inputLen = memoryView(p.mem).write(inputJson, inputAddr);
  const ret = p.wasmInstance.exports.opa_eval(0, live.entrypointId, p.dataAddr, inputAddr, inputLen, inputAddr + inputLen, 0);
  const view = memoryView(p.mem);
  return view.toString('utf8', ret, view.indexOf(0, ret));
}

const views = new WeakMap<ArrayBuffer, Buffer>();

/** A Buffer over the memory's current ArrayBuffer (a new one after each grow). */
function memoryView(mem: WebAssembly.Memory): Buffer {
  const ab = mem.buffer;
  let v = views.get(ab);
  if (v === undefined) {
    v = Buffer.from(ab);
    views.set(ab, v);
  }
  return v;
}

// opa-wasm throws strings (opa_abort), plain objects and RangeErrors (memory.grow past the
// maximum; `opa_malloc: failed` when the heap inside the module runs out). An exhausted heap is
// the caller's input being too large, not a broken policy.
function classifyEvalError(err: unknown): WardenError {
  const text = describeThrown(err);
  if (err instanceof RangeError || /out of memory|memory size exceeded|Maximum memory|opa_malloc/i.test(text)) {
    return new WardenError('POLICY_INPUT_TOO_LARGE', text, { cause: err });
  }
  return new WardenError('POLICY_EVAL_FAILED', text, { cause: err });
}
