import { describe, expect, it } from 'vitest';
import { isModernVersion, retryState, stepUpInputRequired, unwrapRetry, wrapServerRound } from '../../../src/mcp/mrtr.js';

describe('MRTR step-up pieces', () => {
  it('knows the eras', () => {
    expect(isModernVersion('2026-07-28')).toBe(true);
    expect(isModernVersion('2027-01-01')).toBe(true);
    expect(isModernVersion('2025-11-25')).toBe(false);
    expect(isModernVersion('garbage')).toBe(false);
    expect(isModernVersion(undefined)).toBe(false);
  });
  it('asks for the approval with a URL elicitation and the sealed state', () => {
    const first = JSON.parse(stepUpInputRequired({ id: 4, url: 'http://127.0.0.1:1/console/approvals/a1', message: 'approve', requestState: 'warden1.x.y', elicit: true }));
    expect(first).toEqual({ jsonrpc: '2.0', id: 4, result: { resultType: 'input_required', requestState: 'warden1.x.y', inputRequests: { 'warden-approval': { method: 'elicitation/create', params: { mode: 'url', message: 'approve', url: 'http://127.0.0.1:1/console/approvals/a1' } } } } });
    const again = JSON.parse(stepUpInputRequired({ id: 5, url: 'u', message: 'm', requestState: 's', elicit: false }));
    expect(again.result).toEqual({ resultType: 'input_required', requestState: 's' });
  });
  it('unwraps a retry: Warden input response out, the server state back', () => {
    const body = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'delete_repo', arguments: { repo: 'x' }, requestState: 'warden1.a.b', inputResponses: { 'warden-approval': { action: 'accept' }, confirm: { action: 'accept', content: { confirm: true } } } } };
    expect(retryState(body)).toBe('warden1.a.b');
    expect(unwrapRetry(body, 'server-round-1').params).toEqual({ name: 'delete_repo', arguments: { repo: 'x' }, requestState: 'server-round-1', inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } });
    expect(unwrapRetry({ ...body, params: { name: 'd', requestState: 'warden1.a.b', inputResponses: { 'warden-approval': {} } } }, undefined).params).toEqual({ name: 'd' });
    expect(retryState({ params: {} })).toBeUndefined();
  });
  it('seals the server state of an input_required answering this request only', () => {
    const msg = { jsonrpc: '2.0', id: 3, result: { resultType: 'input_required', requestState: 'srv', inputRequests: {} } };
    expect(wrapServerRound(msg, 3, (inner) => `sealed(${inner})`).result).toMatchObject({ requestState: 'sealed(srv)' });
    expect(wrapServerRound(msg, 4, () => 'x')).toBe(msg);
    const done = { jsonrpc: '2.0', id: 3, result: { resultType: 'complete', content: [] } };
    expect(wrapServerRound(done, 3, () => 'x')).toBe(done);
  });
});
