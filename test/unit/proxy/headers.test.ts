import { describe, expect, it } from 'vitest';
import { cleanResponseHeaders, planRequestHeaders } from '../../../src/proxy/headers.js';

describe('planRequestHeaders', () => {
  const plan = planRequestHeaders(
    {
      host: 'warden',
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret-hop',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'websocket',
      'transfer-encoding': 'chunked',
      'proxy-authorization': 'Basic x',
      authorization: 'Bearer task-token',
      cookie: 'sid=1',
      'x-api-key': 'k',
      'x-lane': 'agent-supplied',
      'warden-decision-id': 'forged',
      'content-length': '10',
      accept: 'application/json',
      'x-multi': ['a', 'b'],
    },
    new Set(['x-lane']),
  );

  it('forwards only end-to-end, non-credential headers', () => {
    expect(plan.forward).toEqual({ accept: 'application/json', 'x-multi': ['a', 'b'] });
  });

  it('gives the policy the same headers, joined, without credentials', () => {
    expect(plan.input).toEqual({ accept: 'application/json', 'x-multi': 'a, b' });
  });
});

describe('cleanResponseHeaders', () => {
  it('drops hop-by-hop, Connection-listed and warden-* headers from the upstream', () => {
    expect(
      cleanResponseHeaders({ connection: 'x-resp', 'x-resp': '1', 'keep-alive': 'x', 'transfer-encoding': 'chunked', 'warden-decision-id': 'upstream-forged', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});
