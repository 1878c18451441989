import { describe, expect, it } from 'vitest';
import { mcpMessage } from '../../../src/mcp/message.js';
import { ServerRequests } from '../../../src/mcp/server-requests.js';

const relayed = new ServerRequests();
const msg = (httpMethod: string, body: unknown, headers: Record<string, string> = {}) => mcpMessage({ httpMethod, headers, body, answered: (s, id) => relayed.answered(s, id) });

describe('input.mcp for every MCP message kind', () => {
  it('requests name their target', () => {
    expect(msg('POST', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_x', arguments: { a: 1 } } }, { 'mcp-session-id': 's1', 'mcp-protocol-version': '2025-11-25' })).toEqual({ kind: 'request', method: 'tools/call', id: 1, tool: 'get_x', arguments: { a: 1 }, session_id: 's1', protocol_version: '2025-11-25' });
    expect(msg('POST', { jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'p', arguments: { t: 'x' } } })).toMatchObject({ kind: 'request', name: 'p', arguments: { t: 'x' } });
    expect(msg('POST', { jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'file:///a' } })).toMatchObject({ kind: 'request', uri: 'file:///a' });
    expect(msg('POST', { jsonrpc: '2.0', id: 'i', method: 'initialize', params: { protocolVersion: '2025-11-25' } })).toMatchObject({ kind: 'request', protocol_version: '2025-11-25' });
    expect(msg('POST', { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } })).toMatchObject({ kind: 'request', protocol_version: '2026-07-28' });
  });
  it('notifications, streams and session ends', () => {
    expect(msg('POST', { jsonrpc: '2.0', method: 'notifications/initialized' })).toEqual({ kind: 'notification', method: 'notifications/initialized' });
    expect(msg('GET', undefined, { 'mcp-session-id': 's1', 'last-event-id': 'e1' })).toEqual({ kind: 'stream', session_id: 's1' });
    expect(msg('DELETE', undefined, { 'mcp-session-id': 's1' })).toEqual({ kind: 'session_end', session_id: 's1' });
    expect(msg('GET', undefined, { accept: 'application/json, text/event-stream' })).toEqual({ kind: 'stream' });
    // A GET that asks for no event stream and names no session, or a DELETE without a session, is not MCP.
    expect(msg('GET', undefined, { accept: 'application/json' })).toBeUndefined();
    expect(msg('DELETE', undefined, {})).toBeUndefined();
  });
  it('a response names the server request it answers when Warden relayed it (once, per session)', () => {
    relayed.relayed('s1', 7, 'elicitation/create');
    expect(msg('POST', { jsonrpc: '2.0', id: 7, result: { action: 'accept' } }, { 'mcp-session-id': 's2' })).toEqual({ kind: 'response', id: 7, session_id: 's2' });
    expect(msg('POST', { jsonrpc: '2.0', id: 7, result: { action: 'accept' } }, { 'mcp-session-id': 's1' })).toEqual({ kind: 'response', id: 7, method: 'elicitation/create', session_id: 's1' });
    expect(msg('POST', { jsonrpc: '2.0', id: 7, error: { code: 1, message: 'x' } }, { 'mcp-session-id': 's1' })).toEqual({ kind: 'response', id: 7, session_id: 's1' });
  });
  it('keeps string, number and null ids, drops any other; reads targets only from object params', () => {
    expect(msg('POST', { jsonrpc: '2.0', id: null, method: 'ping' })).toEqual({ kind: 'request', method: 'ping', id: null });
    expect(msg('POST', { jsonrpc: '2.0', id: { x: 1 }, method: 'ping' })).toEqual({ kind: 'request', method: 'ping' });
    expect(msg('POST', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['x'] })).toEqual({ kind: 'request', method: 'tools/call', id: 1 });
    expect(msg('POST', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } })).toEqual({ kind: 'request', method: 'tools/call', id: 1 });
    expect(msg('POST', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { name: 'x', arguments: {} } })).toEqual({ kind: 'request', method: 'resources/read', id: 1 });
  });
  it('refuses batches and ignores what is not JSON-RPC', () => {
    expect(() => msg('POST', [{ jsonrpc: '2.0', id: 1, method: 'ping' }])).toThrow(/batches/);
    expect(msg('POST', { hello: 1 })).toBeUndefined();
    expect(msg('POST', undefined)).toBeUndefined();
  });
});
