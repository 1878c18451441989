import { describe, expect, it } from 'vitest';
import { mcpInput } from '../../../src/mcp/input.js';

describe('mcpInput', () => {
  it('reads a tools/call: method, id, tool and arguments', () => {
    expect(mcpInput({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'search_code', arguments: { q: 'x' } } })).toEqual({
      method: 'tools/call',
      id: 7,
      tool: 'search_code',
      arguments: { q: 'x' },
    });
  });

  it('keeps string and null ids, drops any other id', () => {
    expect(mcpInput({ jsonrpc: '2.0', id: 'a', method: 'ping' })).toEqual({ method: 'ping', id: 'a' });
    expect(mcpInput({ jsonrpc: '2.0', id: null, method: 'ping' })).toEqual({ method: 'ping', id: null });
    expect(mcpInput({ jsonrpc: '2.0', id: { x: 1 }, method: 'ping' })).toEqual({ method: 'ping' });
    expect(mcpInput({ jsonrpc: '2.0', method: 'notifications/initialized' })).toEqual({ method: 'notifications/initialized' });
  });

  it('reads a tool only from tools/call with object params', () => {
    expect(mcpInput({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { name: 'x', arguments: {} } })).toEqual({ method: 'resources/read', id: 1 });
    expect(mcpInput({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['x'] })).toEqual({ method: 'tools/call', id: 1 });
    expect(mcpInput({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } })).toEqual({ method: 'tools/call', id: 1 });
  });

  it('is undefined for a body that is not a JSON-RPC 2.0 request', () => {
    for (const body of [null, undefined, 'text', 42, {}, { jsonrpc: '1.0', method: 'x' }, { jsonrpc: '2.0' }, { jsonrpc: '2.0', method: 3 }, [], [1, 2]]) {
      expect(mcpInput(body)).toBeUndefined();
    }
  });

  it('refuses a batch (one decision must not cover several calls)', () => {
    expect(() => mcpInput([{ jsonrpc: '2.0', id: 1, method: 'tools/call' }])).toThrow(expect.objectContaining({ code: 'MCP_BATCH_REFUSED', status: 400 }));
    expect(() => mcpInput([1, { jsonrpc: '2.0', method: 'ping' }])).toThrow(expect.objectContaining({ code: 'MCP_BATCH_REFUSED' }));
  });
});
