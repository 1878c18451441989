import { describe, expect, it, onTestFinished } from 'vitest';
import { WebhookClient, parseWebhookDecision } from '../../../src/stepup/webhook.js';
import { closedPortUrl, SECRET, startReceiver } from './fixtures.js';

function client(url: string, over: { retries?: number; timeout?: number } = {}): WebhookClient {
  const c = new WebhookClient({ url, timeout: over.timeout ?? 2000, retries: over.retries ?? 2, backoff: 10, secret: SECRET });
  onTestFinished(() => c.close());
  return c;
}

describe('parseWebhookDecision', () => {
  it.each([
    ['{"decision":"approve","approver":"alice","reason":"ok"}', { decision: 'approve', approver: 'alice', reason: 'ok' }],
    ['{"decision":"deny"}', { decision: 'deny', approver: 'webhook' }],
    ['{"decision":"maybe"}', undefined],
    ['{"status":"accepted"}', undefined],
    ['not json', undefined],
    ['', undefined],
    ['null', undefined],
  ])('%s', (text, expected) => {
    expect(parseWebhookDecision(text)).toEqual(expected);
  });
});

describe('WebhookClient', () => {
  it('POSTs signed JSON and returns an immediate decision', async () => {
    const r = await startReceiver(() => ({ status: 200, body: { decision: 'approve', approver: 'alice' } }));
    const result = await client(r.url).deliver({ type: 'approval.requested', n: 1 });
    expect(result).toEqual({ delivered: true, attempts: 1, status: 200, decision: { decision: 'approve', approver: 'alice' } });
    expect(r.deliveries[0]!.signatureValid).toBe(true);
    expect(r.deliveries[0]!.headers['content-type']).toBe('application/json');
    expect(r.deliveries[0]!.event).toEqual({ type: 'approval.requested', n: 1 });
  });

  it('takes 202 as accepted for later', async () => {
    const r = await startReceiver(() => ({ status: 202 }));
    expect(await client(r.url).deliver({})).toEqual({ delivered: true, attempts: 1, status: 202 });
  });

  it('does not retry a 4xx', async () => {
    const r = await startReceiver(() => ({ status: 401, body: { error: 'invalid signature' } }));
    expect(await client(r.url).deliver({})).toEqual({ delivered: false, attempts: 1, status: 401 });
    expect(r.hits).toBe(1);
  });

  it('retries 5xx until it succeeds, signing each attempt', async () => {
    const r = await startReceiver((n) => (n < 3 ? { status: 503 } : { status: 200 }));
    expect(await client(r.url).deliver({})).toEqual({ delivered: true, attempts: 3, status: 200 });
    expect(r.deliveries.every((d) => d.signatureValid)).toBe(true);
  });

  it('gives up after 1 + retries attempts on a refused connection', async () => {
    expect(await client(await closedPortUrl(), { retries: 3 }).deliver({})).toEqual({ delivered: false, attempts: 4 });
  });

  it('retries an attempt that times out', async () => {
    const r = await startReceiver((n) => (n === 1 ? { status: 200, delayMs: 500 } : { status: 200 }));
    const result = await client(r.url, { timeout: 150 }).deliver({});
    expect(result).toMatchObject({ delivered: true, attempts: 2 });
  });
});
