import { describe, expect, it } from 'vitest';
import { MCP_ERROR, jsonRpcError, mcpAnswer } from '../../../src/mcp/answers.js';

describe('MCP answers', () => {
  it('keeps the codes of the server-defined range', () => {
    expect(MCP_ERROR).toEqual({ denied: -32001, approval_required: -32002, error: -32603 });
  });

  it('answers with the request id, or null when it had none', () => {
    expect(JSON.parse(jsonRpcError(7, -32001, 'no', { a: 1 }))).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32001, message: 'no', data: { a: 1 } } });
    expect(JSON.parse(jsonRpcError(undefined, -32603, 'x', {}))).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'x', data: {} } });
  });

  it('mcpAnswer picks the code by kind and keeps the id of the MCP request', () => {
    expect(JSON.parse(mcpAnswer({ method: 'tools/call', id: 'req-1', tool: 't' }, 'approval_required', 'approve first', { approval_id: 'a1' }))).toEqual({
      jsonrpc: '2.0',
      id: 'req-1',
      error: { code: -32002, message: 'approve first', data: { approval_id: 'a1' } },
    });
    expect(JSON.parse(mcpAnswer({ method: 'tools/call' }, 'denied', 'denied', {})).error.code).toBe(-32001);
  });
});
