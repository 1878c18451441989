// Step-up approvals from request to single use. One approval per exact call: identical calls that
// arrive while one is pending join it (no second webhook), a grant opens the identical retry once,
// and waiters held in `hold` mode are woken through the store's wake-up channel by the decision.

import { randomUUID } from 'node:crypto';
import { WardenError, describeThrown, isWardenError } from '../errors.js';
import type { WardenConfig } from '../config/schema.js';
import type { ApprovalInput } from '../policy/types.js';
import type { Approval, ApprovalEvents, ApprovalSettlement, ApprovalStatus, ApprovalStore, NewApproval } from '../store/approvals.js';
import { andThen, isPromise, type Awaitable } from '../store/awaitable.js';
import { bindingDigest, type CallBinding } from './binding.js';
import { bodyPreview } from './summary.js';
import type { StepUpLogger, WebhookClient, WebhookDecision } from './webhook.js';

export type StepUpConfig = Pick<WardenConfig['step_up'], 'ttl' | 'body_preview_bytes'>;

export type ApprovalEventName = 'approval.requested' | 'approval.approved' | 'approval.denied' | 'approval.expired' | 'approval.used' | 'approval.cancelled';

export interface ApprovalEvent {
  event: ApprovalEventName;
  approval_id: string;
  task_id?: string;
  approver?: string;
  reason?: string;
}

/**
 * How a wait ended. A grant cancelled by a revocation, or spent by another request, is `expired`:
 * gone for this waiter. `aborted` means the client went away; `closed`, that Warden is shutting down.
 */
export type WaitResult = 'approved' | 'denied' | 'expired' | 'timeout' | 'aborted' | 'closed';

export interface StepUpRequest {
  binding: CallBinding;
  /** bindingDigest(binding), when the caller already has it. */
  digest?: string;
  decision_id: string;
  reason?: string;
  risk?: string;
  approvers: readonly string[];
  /** What the approver is shown: build it with buildSummary (masks query secrets, cuts the preview). */
  summary: Readonly<Record<string, unknown>>;
  /** What only the console shows (build it with buildDetail): kept in the pod, never sent to the webhook. */
  detail?: Readonly<Record<string, unknown>>;
  /** Unix ms after which the approval cannot outlive its task: an expiring task ends its approvals. */
  not_after?: number;
}

export interface StepUpManagerOptions {
  logger?: StepUpLogger;
  /** Where settlements are published and heard; without one, only this manager's own decisions wake its waiters. */
  events?: ApprovalEvents;
  /** Clock in unix ms (tests). */
  now?: () => number;
  /** How often the sweep expires approvals, ms. */
  sweepIntervalMs?: number;
  /** The page of an approval (`step_up.approval_url`), once known; sent as `approval_url`. */
  approvalUrl?: (id: string) => string | undefined;
}

type Waiter = (result: WaitResult) => void;

export class StepUpManager {
  readonly #config: StepUpConfig;
  readonly #store: ApprovalStore;
  readonly #webhook: WebhookClient | undefined;
  readonly #onEvent: ((e: ApprovalEvent) => void) | undefined;
  readonly #logger: StepUpLogger | undefined;
  readonly #now: () => number;
  readonly #sweepMs: number;
  readonly #approvalUrl: (id: string) => string | undefined;
  /** Requests whose webhook is being delivered, by digest: identical calls share the outcome. */
  readonly #inflight = new Map<string, Promise<Approval>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /**
   * Tasks ('' for none) that may have a live approval. Every request asks whether a grant
   * matches its call; for tasks outside this set the answer is no without hashing the call or
   * touching the store. Conservative: added on insert, recomputed from the store on each sweep
   * and cancellation.
   */
  #mayHave = new Set<string>();
  /** False until the store first answered liveTaskIds: until then every task may have approvals. */
  #indexed = false;
  /** Tasks added while a refresh of #mayHave is in flight, so the refresh does not drop them. */
  readonly #addedDuringRefresh = new Set<Set<string>>();
  readonly #events: ApprovalEvents | undefined;
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: StepUpConfig, store: ApprovalStore, webhook: WebhookClient | undefined, onEvent?: (e: ApprovalEvent) => void, options: StepUpManagerOptions = {}) {
    this.#config = config;
    this.#store = store;
    this.#webhook = webhook;
    this.#onEvent = onEvent;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#sweepMs = options.sweepIntervalMs ?? 1000;
    this.#approvalUrl = options.approvalUrl ?? (() => undefined);
    this.#events = options.events;
    const wake = (id: string, result: ApprovalSettlement): void => this.#wake(id, result);
    this.#unsubscribe = this.#events?.subscribe(wake) ?? (() => undefined);
    const report = (err: unknown): void => this.#logger?.warn({ err: describeThrown(err) }, 'approval index refresh failed');
    try {
      const r = this.#refreshIndex();
      if (isPromise(r)) r.catch(report);
    } catch (err) {
      report(err);
    }
  }

  /** Where a person decides this approval (the console page, unless configured elsewhere). */
  approvalUrl(id: string): string | undefined {
    return this.#approvalUrl(id);
  }

  /** False when no approval of this task (or of task-less calls) can match: skip the lookup. */
  mayHaveApprovals(taskId: string | undefined): boolean {
    return !this.#indexed || this.#mayHave.has(taskId ?? '');
  }

  #markMayHave(taskId: string): void {
    this.#mayHave.add(taskId);
    for (const added of this.#addedDuringRefresh) added.add(taskId);
  }

  /** Recompute #mayHave from the store; at once when the store answers synchronously. */
  #refreshIndex(): Awaitable<void> {
    const added = new Set<string>();
    this.#addedDuringRefresh.add(added);
    const apply = (ids: string[]): void => {
      this.#addedDuringRefresh.delete(added);
      this.#mayHave = new Set([...ids, ...added]);
      this.#indexed = true;
    };
    const fail = (err: unknown): never => {
      this.#addedDuringRefresh.delete(added);
      throw err;
    };
    try {
      const r = andThen(this.#store.liveTaskIds(this.#now()), apply);
      return isPromise(r) ? r.catch(fail) : r;
    } catch (err) {
      return fail(err);
    }
  }

  /** An approved, unused, unexpired approval of this exact call, as `input.approval`. */
  async findGrant(digest: string, now: number = this.#now()): Promise<ApprovalInput | undefined> {
    const a = await this.#store.findLive(digest, now);
    return a?.status === 'approved' ? grantOf(a) : undefined;
  }

  /**
   * Approval `id` as `input.approval` when it was spent on this exact call: a later round of that
   * one call (MCP 2026-07-28, the server continuing it) runs on it without spending it again.
   */
  async spentGrant(id: string, digest: string): Promise<ApprovalInput | undefined> {
    const a = await this.#store.get(id);
    return a?.status === 'used' && a.binding_digest === digest ? grantOf(a) : undefined;
  }

  /** A live denial of this exact call: it stays denied until the approval expires. */
  async findDenial(digest: string, now: number = this.#now()): Promise<{ id: string; approver: string; reason: string } | undefined> {
    const a = await this.#store.findLive(digest, now);
    if (a?.status !== 'denied') return undefined;
    return { id: a.id, approver: a.approver ?? 'unknown', reason: a.decision_reason ?? '' };
  }

  /** Use a grant; true for exactly one caller. */
  async consume(id: string): Promise<boolean> {
    if (!(await this.#store.consume(id, this.#now()))) return false;
    this.#emit('approval.used', await this.#store.get(id));
    return true;
  }

  /**
   * The approval of this call: the live one if there is one (no new webhook), otherwise a new
   * pending approval whose webhook event is delivered before this resolves. An immediate decision
   * of the receiver is applied; a failed delivery leaves it pending for the admin API.
   */
  request(params: StepUpRequest): Promise<Approval> {
    if (this.#closed) return Promise.reject(new WardenError('SHUTTING_DOWN', 'step-up manager is closed'));
    const digest = params.digest ?? bindingDigest(params.binding);
    // Checked and set before the first await: JavaScript runs this synchronously, so 20 identical
    // concurrent calls share one look-up, one insert and one webhook delivery.
    const inflight = this.#inflight.get(digest);
    if (inflight) return inflight;
    const started = this.#requestNew(params, digest);
    const shared = started.finally(() => {
      if (this.#inflight.get(digest) === shared) this.#inflight.delete(digest);
    });
    this.#inflight.set(digest, shared);
    return shared;
  }

  async #requestNew(params: StepUpRequest, digest: string): Promise<Approval> {
    const now = this.#now();
    const { approval, created } = await this.#store.findLiveOrInsert(digest, now, () => this.#newApproval(params, digest, now));
    if (!created) return approval;
    this.#markMayHave(approval.task_id ?? '');
    this.#emit('approval.requested', approval);
    if (!this.#webhook) {
      this.#logger?.info({ approval_id: approval.id }, 'approval requested; no webhook configured, decide it through the admin API');
      return approval;
    }
    return this.#deliver(this.#webhook, approval, params);
  }

  /**
   * Wait for a decision; the approval stays pending on timeout, abort (client gone) or close. The waiter
   * is registered before the store is read, so a decision published meanwhile is not missed.
   */
  wait(id: string, ms: number, signal?: AbortSignal): Promise<WaitResult> {
    if (this.#closed) return Promise.resolve('closed');
    return new Promise<WaitResult>((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set<Waiter>();
      this.#waiters.set(id, waiters);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish('aborted');
      const finish = (result: WaitResult): void => {
        if (!waiters.delete(finish)) return;
        clearTimeout(timer);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      waiters.add(finish);
      const armed = andThen(this.#store.get(id), (a) => {
        const now = this.#now();
        if (!a) return finish('expired');
        const settled = settledResult(a, now);
        if (settled) return finish(settled);
        if (this.#closed) return finish('closed');
        if (signal?.aborted) return finish('aborted');
        if (!waiters.has(finish)) return; // woken while the store was read
        const remaining = a.expires_at - now;
        timer = setTimeout(() => finish(remaining <= ms ? 'expired' : 'timeout'), Math.max(0, Math.min(ms, remaining)));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (armed instanceof Promise) {
        armed.catch((err: unknown) => {
          this.#logger?.warn({ err: describeThrown(err), approval_id: id }, 'approval read failed while waiting');
          finish('timeout');
        });
      }
    });
  }

  /** Requests held open in wait() right now: the held-requests gauge, read at each scrape. */
  held(): number {
    let n = 0;
    for (const waiters of this.#waiters.values()) n += waiters.size;
    return n;
  }

  /** pending → approved; undefined for an unknown id, APPROVAL_CONFLICT when it is not pending. */
  approve(id: string, approver: string, reason?: string): Promise<Approval | undefined> {
    return this.#decide(id, 'approved', approver, reason);
  }

  /** pending → denied; undefined for an unknown id, APPROVAL_CONFLICT when it is not pending. */
  deny(id: string, approver: string, reason: string): Promise<Approval | undefined> {
    return this.#decide(id, 'denied', approver, reason);
  }

  async #decide(id: string, status: 'approved' | 'denied', approver: string, reason: string | undefined): Promise<Approval | undefined> {
    const r = await this.#store.decide(id, status, approver, reason, this.#now());
    if (!r) return undefined;
    if (!r.changed) {
      const state = r.approval.status === 'pending' ? 'expired' : r.approval.status;
      throw new WardenError('APPROVAL_CONFLICT', `approval ${id} is ${state}`);
    }
    this.#emit(status === 'approved' ? 'approval.approved' : 'approval.denied', r.approval);
    await this.#settle(id, status);
    return r.approval;
  }

  async get(id: string): Promise<Approval | undefined> {
    return this.#store.get(id);
  }

  /** Newest first. */
  async list(status?: ApprovalStatus): Promise<Approval[]> {
    return this.#store.list(status ? { status } : {});
  }

  /** Revoking a task cancels its pending and granted approvals (one approval.cancelled event each). */
  async cancelForTask(taskId: string): Promise<void> {
    for (const id of await this.#store.cancelForTask(taskId, this.#now())) {
      this.#emit('approval.cancelled', await this.#store.get(id));
      await this.#settle(id, 'expired');
    }
    await this.#refreshIndex();
  }

  /** Expire what is due now; the timer of start() calls this. Returns the expired ids. */
  async sweep(): Promise<string[]> {
    const ids = await this.#store.expire(this.#now());
    for (const id of ids) {
      this.#emit('approval.expired', await this.#store.get(id));
      await this.#settle(id, 'expired');
    }
    await this.#refreshIndex();
    return ids;
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    const tick = (): void => {
      this.sweep().catch((err: unknown) => this.#logger?.warn({ err: describeThrown(err) }, 'approval expiry sweep failed'));
    };
    this.#timer = setInterval(tick, this.#sweepMs);
    // The sweep alone must not keep a stopping process alive.
    this.#timer.unref();
  }

  /** Stops the sweep and webhook retries, wakes waiters with `closed`; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#webhook?.close();
    await Promise.allSettled([...this.#inflight.values()]);
    this.#unsubscribe();
    for (const id of [...this.#waiters.keys()]) this.#wake(id, 'closed');
  }

  /** Wake the waiters of every process: through the channel, or directly without one. */
  async #settle(id: string, result: ApprovalSettlement): Promise<void> {
    if (this.#events) await this.#events.publish(id, result);
    else this.#wake(id, result);
  }

  #newApproval(p: StepUpRequest, digest: string, now: number): NewApproval {
    // Belt and braces: buildSummary cuts the preview, but this config's limit is the one that holds.
    const { body_preview: preview, body_truncated: truncated, ...summary } = p.summary as Record<string, unknown>;
    const cut = bodyPreview(typeof preview === 'string' ? preview : undefined, this.#config.body_preview_bytes);
    if (cut.body_preview !== undefined) Object.assign(summary, { body_preview: cut.body_preview, body_truncated: cut.body_truncated || truncated === true });
    return {
      id: randomUUID(),
      binding_digest: digest,
      task_id: p.binding.task_id ?? null,
      agent_id: p.binding.agent_id ?? null,
      upstream: p.binding.upstream,
      method: p.binding.method,
      path: p.binding.path,
      summary,
      detail: p.detail ? { ...p.detail } : null,
      decision_id: p.decision_id,
      reason: p.reason ?? null,
      risk: p.risk ?? null,
      approvers: [...p.approvers],
      created_at: now,
      expires_at: Math.min(now + this.#config.ttl, p.not_after ?? Number.POSITIVE_INFINITY),
    };
  }

  async #deliver(webhook: WebhookClient, approval: Approval, p: StepUpRequest): Promise<Approval> {
    const event = {
      type: 'approval.requested',
      approval: { id: approval.id, expires_at: new Date(approval.expires_at).toISOString(), status: approval.status },
      approval_url: this.#approvalUrl(approval.id),
      decision_id: p.decision_id,
      reason: p.reason,
      risk: p.risk,
      approvers: approval.approvers,
      request: approval.summary,
    };
    const result = await webhook.deliver(event);
    if (!result.delivered) {
      this.#logger?.warn({ approval_id: approval.id, attempts: result.attempts, status: result.status }, 'approval webhook not delivered; the approval stays pending for the admin API');
    } else if (result.decision) {
      await this.#applyDecision(approval.id, result.decision);
    }
    return (await this.#store.get(approval.id)) ?? approval;
  }

  async #applyDecision(id: string, d: WebhookDecision): Promise<void> {
    try {
      if (d.decision === 'approve') await this.approve(id, d.approver, d.reason);
      else await this.deny(id, d.approver, d.reason ?? 'denied by the approval webhook');
    } catch (err) {
      // The admin API, a revocation or the sweep got there first: theirs stands.
      if (!isWardenError(err) || err.code !== 'APPROVAL_CONFLICT') throw err;
    }
  }

  #emit(event: ApprovalEventName, a: Approval | undefined): void {
    if (!a || !this.#onEvent) return;
    const decided = event === 'approval.approved' || event === 'approval.denied';
    const e: ApprovalEvent = { event, approval_id: a.id, ...(a.task_id !== null && { task_id: a.task_id }) };
    if (decided && a.approver !== null) e.approver = a.approver;
    if (decided && a.decision_reason !== null) e.reason = a.decision_reason;
    try {
      this.#onEvent(e);
    } catch (err) {
      // A failing listener (metrics, audit) must not undo a decision already committed.
      this.#logger?.warn({ err: describeThrown(err), event }, 'approval event listener failed');
    }
  }

  #wake(id: string, result: WaitResult): void {
    const waiters = this.#waiters.get(id);
    if (!waiters) return;
    for (const w of [...waiters]) w(result);
  }
}

function grantOf(a: Approval): ApprovalInput {
  return { id: a.id, approver: a.approver ?? 'unknown', approved_at: new Date(a.decided_at ?? a.created_at).toISOString() };
}

function settledResult(a: Approval, now: number): WaitResult | undefined {
  switch (a.status) {
    case 'pending':
      return a.expires_at <= now ? 'expired' : undefined;
    case 'approved':
      return a.expires_at <= now ? 'expired' : 'approved';
    case 'denied':
      return 'denied';
    case 'cancelled':
    case 'used':
    case 'expired':
      // Cancelled by a revocation or spent by another request: to the waiter it is gone.
      return 'expired';
  }
}
