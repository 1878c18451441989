// Step-up approvals from request to single use. One approval per exact call: identical calls that
// arrive while one is pending join it (no second webhook), a grant opens the identical retry once,
// and waiters held in `hold` mode are woken in-process by the decision.

import { randomUUID } from 'node:crypto';
import { WardenError, describeThrown, isWardenError } from '../errors.js';
import type { WardenConfig } from '../config/schema.js';
import type { ApprovalInput } from '../policy/types.js';
import { type Approval, type ApprovalStatus, type ApprovalStore } from './approval-store.js';
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

/** How a wait ended. A grant cancelled by a revocation, or spent by another request, is `expired`: gone for this waiter. */
export type WaitResult = 'approved' | 'denied' | 'expired' | 'timeout' | 'aborted';

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
  /** Unix ms after which the approval cannot outlive its task: an expiring task ends its approvals. */
  not_after?: number;
}

export interface StepUpManagerOptions {
  logger?: StepUpLogger;
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
    this.#refreshIndex();
  }

  /** Where a person decides this approval (the console page, unless configured elsewhere). */
  approvalUrl(id: string): string | undefined {
    return this.#approvalUrl(id);
  }

  /** False when no approval of this task (or of task-less calls) can match: skip the lookup. */
  mayHaveApprovals(taskId: string | undefined): boolean {
    return this.#mayHave.has(taskId ?? '');
  }

  #refreshIndex(): void {
    this.#mayHave = new Set(this.#store.liveTaskIds(this.#now()));
  }

  /** An approved, unused, unexpired approval of this exact call, as `input.approval`. */
  findGrant(digest: string, now: number = this.#now()): ApprovalInput | undefined {
    const a = this.#store.findLive(digest, now);
    if (a?.status !== 'approved') return undefined;
    return { id: a.id, approver: a.approver ?? 'unknown', approved_at: new Date(a.decided_at ?? a.created_at).toISOString() };
  }

  /** A live denial of this exact call: it stays denied until the approval expires. */
  findDenial(digest: string, now: number = this.#now()): { id: string; approver: string; reason: string } | undefined {
    const a = this.#store.findLive(digest, now);
    if (a?.status !== 'denied') return undefined;
    return { id: a.id, approver: a.approver ?? 'unknown', reason: a.decision_reason ?? '' };
  }

  /** Use a grant; true for exactly one caller. */
  consume(id: string): boolean {
    if (!this.#store.consume(id, this.#now())) return false;
    this.#emit('approval.used', this.#store.get(id));
    return true;
  }

  /**
   * The approval of this call: the live one if there is one (no new webhook), otherwise a new
   * pending approval whose webhook event is delivered before this resolves. An immediate decision
   * of the receiver is applied; a failed delivery leaves it pending for the admin API.
   */
  async request(params: StepUpRequest): Promise<Approval> {
    if (this.#closed) throw new WardenError('SHUTTING_DOWN', 'step-up manager is closed');
    const digest = params.digest ?? bindingDigest(params.binding);
    // Checked before touching the store, and set before the first await below: JavaScript runs
    // this synchronously, so 20 identical concurrent calls see one another here.
    const inflight = this.#inflight.get(digest);
    if (inflight) return inflight;
    const now = this.#now();
    const { approval, created } = this.#store.findLiveOrInsert(digest, now, () => this.#newApproval(params, digest, now));
    if (!created) return approval;
    this.#mayHave.add(approval.task_id ?? '');
    this.#emit('approval.requested', approval);
    if (!this.#webhook) {
      this.#logger?.info({ approval_id: approval.id }, 'approval requested; no webhook configured, decide it through the admin API');
      return approval;
    }
    const delivery = this.#deliver(this.#webhook, approval, params).finally(() => this.#inflight.delete(digest));
    this.#inflight.set(digest, delivery);
    return delivery;
  }

  /** Wait for a decision; the approval stays pending on timeout or abort (client gone). */
  wait(id: string, ms: number, signal?: AbortSignal): Promise<WaitResult> {
    const now = this.#now();
    const a = this.#store.get(id);
    if (!a) return Promise.resolve('expired');
    const settled = settledResult(a, now);
    if (settled) return Promise.resolve(settled);
    if (signal?.aborted || this.#closed) return Promise.resolve('aborted');
    const remaining = a.expires_at - now;
    return new Promise<WaitResult>((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set<Waiter>();
      this.#waiters.set(id, waiters);
      const onAbort = (): void => finish('aborted');
      const timer = setTimeout(() => finish(remaining <= ms ? 'expired' : 'timeout'), Math.max(0, Math.min(ms, remaining)));
      const finish = (result: WaitResult): void => {
        clearTimeout(timer);
        waiters.delete(finish);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      waiters.add(finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** pending → approved; ADMIN_NOT_FOUND or APPROVAL_CONFLICT otherwise. */
  approve(id: string, approver: string, reason?: string): Approval {
    const a = this.#store.decide(id, 'approved', approver, reason, this.#now());
    this.#emit('approval.approved', a);
    this.#wake(id, 'approved');
    return a;
  }

  /** pending → denied; ADMIN_NOT_FOUND or APPROVAL_CONFLICT otherwise. */
  deny(id: string, approver: string, reason: string): Approval {
    const a = this.#store.decide(id, 'denied', approver, reason, this.#now());
    this.#emit('approval.denied', a);
    this.#wake(id, 'denied');
    return a;
  }

  get(id: string): Approval | undefined {
    return this.#store.get(id);
  }

  /** Newest first. */
  list(status?: ApprovalStatus): Approval[] {
    return this.#store.list(status ? { status } : {});
  }

  /** Revoking a task cancels its pending and granted approvals (one approval.cancelled event each). */
  cancelForTask(taskId: string): void {
    for (const id of this.#store.cancelForTask(taskId, this.#now())) {
      this.#emit('approval.cancelled', this.#store.get(id));
      this.#wake(id, 'expired');
    }
    this.#refreshIndex();
  }

  /** Expire what is due now; the timer of start() calls this. Returns the expired ids. */
  sweep(): string[] {
    const ids = this.#store.expire(this.#now());
    for (const id of ids) {
      this.#emit('approval.expired', this.#store.get(id));
      this.#wake(id, 'expired');
    }
    this.#refreshIndex();
    return ids;
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    const tick = (): void => {
      try { this.sweep(); } catch (err) { this.#logger?.warn({ err: describeThrown(err) }, 'approval expiry sweep failed'); }
    };
    this.#timer = setInterval(tick, this.#sweepMs);
    // The sweep alone must not keep a stopping process alive.
    this.#timer.unref();
  }

  /** Stops the sweep and webhook retries, wakes waiters with `aborted`; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#webhook?.close();
    await Promise.allSettled([...this.#inflight.values()]);
    for (const id of [...this.#waiters.keys()]) this.#wake(id, 'aborted');
  }

  #newApproval(p: StepUpRequest, digest: string, now: number) {
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
      this.#applyDecision(approval.id, result.decision);
    }
    return this.#store.get(approval.id) ?? approval;
  }

  #applyDecision(id: string, d: WebhookDecision): void {
    try {
      if (d.decision === 'approve') this.approve(id, d.approver, d.reason);
      else this.deny(id, d.approver, d.reason ?? 'denied by the approval webhook');
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
