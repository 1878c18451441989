import { describe, expect, it } from 'vitest';
import { MCP_CODED_ERRORS, MCP_ERROR, jsonRpcError, mcpAnswer, mcpRefusalStatus } from '../../../src/mcp/answers.js';

describe('MCP answers', () => {
  it('uses codes neither official SDK uses (-32001 is v1 RequestTimeout, -32002 v2 ResourceNotFound)', () => {
    expect(MCP_ERROR).toEqual({ denied: -32010, approval_required: -32011, header_mismatch: -32020, invalid_params: -32602, error: -32603 });
  });

  it('answers its own MCP errors as the spec and the SDK servers do', () => {
    expect(MCP_CODED_ERRORS.MCP_HEADER_MISMATCH).toEqual({ code: -32020, status: 400 });
    expect(MCP_CODED_ERRORS.MCP_REQUEST_STATE_INVALID).toEqual({ code: -32602, status: 200 });
  });

  it('answers with the request id, or null when it had none', () => {
    expect(JSON.parse(jsonRpcError(7, -32010, 'no', { a: 1 }))).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32010, message: 'no', data: { a: 1 } } });
    expect(JSON.parse(jsonRpcError(undefined, -32603, 'x', {}))).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'x', data: {} } });
  });

  it('mcpAnswer picks the code by kind and keeps the id of the MCP request only', () => {
    expect(JSON.parse(mcpAnswer({ kind: 'request', method: 'tools/call', id: 'req-1', tool: 't' }, 'approval_required', 'approve first', { approval_id: 'a1' }))).toEqual({
      jsonrpc: '2.0',
      id: 'req-1',
      error: { code: -32011, message: 'approve first', data: { approval_id: 'a1' } },
    });
    expect(JSON.parse(mcpAnswer({ kind: 'request', method: 'tools/call' }, 'denied', 'denied', {})).error.code).toBe(-32010);
    // A client response carries the id of the server's request: the refusal does not echo it.
    expect(JSON.parse(mcpAnswer({ kind: 'response', id: 3 }, 'denied', 'denied', {})).id).toBeNull();
  });

  it('refusal statuses the SDKs understand', () => {
    expect(mcpRefusalStatus({ kind: 'request', method: 'ping' })).toBe(200);
    expect(mcpRefusalStatus({ kind: 'notification', method: 'notifications/initialized' })).toBe(403);
    expect(mcpRefusalStatus({ kind: 'response' })).toBe(403);
    expect(mcpRefusalStatus({ kind: 'stream' })).toBe(405);
    expect(mcpRefusalStatus({ kind: 'session_end' })).toBe(405);
  });
});
