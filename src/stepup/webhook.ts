// Delivery of approval events to the approval service: a signed JSON POST over an own undici
// Agent (a slow receiver must not take connections from the upstream pools), retried with
// exponential backoff on connection errors, timeouts and 5xx. A 4xx is the receiver refusing the
// event (bad signature, unknown type): retrying would only repeat the refusal.

import { Buffer } from 'node:buffer';
import { Agent, request } from 'undici';
import { describeThrown } from '../errors.js';
import { signPayload } from './signature.js';

export interface WebhookConfig {
  url: string;
  /** Time allowed for one attempt, ms. */
  timeout: number;
  /** Further attempts after a failed one. */
  retries: number;
  /** First retry delay in ms, doubled on each retry. */
  backoff: number;
  /** HMAC key of `Warden-Signature`; a function lets a rotated `${file:}` secret apply at once. */
  secret: string | (() => string);
}

export interface WebhookDecision {
  decision: 'approve' | 'deny';
  approver: string;
  reason?: string;
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last answer, when there was one. */
  status?: number;
  decision?: WebhookDecision;
}

export interface StepUpLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** The receiver's optional immediate decision; anything malformed counts as "decide later". */
export function parseWebhookDecision(text: string): WebhookDecision | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.decision !== 'approve' && o.decision !== 'deny') return undefined;
  const approver = typeof o.approver === 'string' && o.approver.trim() !== '' ? o.approver.slice(0, 200) : 'webhook';
  const d: WebhookDecision = { decision: o.decision, approver };
  if (typeof o.reason === 'string') d.reason = o.reason.slice(0, 1000);
  return d;
}

export class WebhookClient {
  readonly #config: WebhookConfig;
  readonly #secret: () => string;
  readonly #agent: Agent;
  readonly #logger: StepUpLogger | undefined;
  readonly #closing = new AbortController();
  /** Origin and path only: a receiver URL may carry a token in its query, which logs must not. */
  readonly #where: string;

  constructor(config: WebhookConfig, logger?: StepUpLogger) {
    const { secret } = config;
    this.#config = config;
    this.#secret = typeof secret === 'function' ? secret : () => secret;
    this.#logger = logger;
    this.#agent = new Agent({ connect: { timeout: config.timeout }, headersTimeout: config.timeout, bodyTimeout: config.timeout, connections: 4 });
    const u = new URL(config.url);
    this.#where = `${u.origin}${u.pathname}`;
  }

  /** POST `event`; resolves (never rejects) once delivered or after the last retry failed. */
  async deliver(event: unknown): Promise<DeliveryResult> {
    const body = JSON.stringify(event);
    const maxAttempts = 1 + Math.max(0, this.#config.retries);
    let last: DeliveryResult = { delivered: false, attempts: 0 };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.#closing.signal.aborted) break;
      const outcome = await this.#attempt(body);
      last = { delivered: outcome.delivered, attempts: attempt };
      if (outcome.status !== undefined) last.status = outcome.status;
      if (outcome.decision) last.decision = outcome.decision;
      if (outcome.delivered) break;
      const failure = { webhook: this.#where, attempt, status: outcome.status, err: outcome.error };
      if (!outcome.retry) {
        this.#logger?.warn(failure, 'approval webhook delivery failed, not retried');
        break;
      }
      if (attempt === maxAttempts) {
        this.#logger?.warn(failure, 'approval webhook delivery failed, no retries left');
        break;
      }
      this.#logger?.warn(failure, 'approval webhook delivery failed, will retry');
      await this.#sleep(Math.min(this.#config.backoff * 2 ** (attempt - 1), MAX_BACKOFF_MS));
    }
    return last;
  }

  async #attempt(body: string): Promise<{ delivered: boolean; retry: boolean; status?: number; decision?: WebhookDecision; error?: string }> {
    // Signed per attempt: a retry after the backoff must not carry an ageing timestamp.
    const signature = signPayload(this.#secret(), body);
    const signal = AbortSignal.any([AbortSignal.timeout(this.#config.timeout), this.#closing.signal]);
    try {
      const res = await request(this.#config.url, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'warden-signature': signature, 'user-agent': 'warden-approvals' },
        body,
        signal,
      });
      const text = await readLimited(res.body);
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        const decision = parseWebhookDecision(text);
        return decision ? { delivered: true, retry: false, status, decision } : { delivered: true, retry: false, status };
      }
      return { delivered: false, retry: status >= 500, status };
    } catch (err) {
      // Connection refused or reset, DNS, timeout: all worth another attempt.
      return { delivered: false, retry: !this.#closing.signal.aborted, error: describeThrown(err) };
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.#closing.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops retries and closes connections; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#agent.close();
  }
}

async function readLimited(body: AsyncIterable<Uint8Array> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    // A receiver answering megabytes is wrong; keep what fits and stop reading.
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
