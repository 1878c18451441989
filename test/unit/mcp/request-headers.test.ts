import { describe, expect, it } from 'vitest';
import { checkMcpHeaders, decodeHeaderValue, envelopeVersion, paramDeclarations } from '../../../src/mcp/request-headers.js';

const V = '2026-07-28';
const call = (name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': V } } });
const modernHeaders = (extra: Record<string, string | string[]> = {}) => ({ 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'get_issue', ...extra });
const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`;

describe('decodeHeaderValue', () => {
  it.each([
    ['plain', 'plain'],
    [b64('héllo wörld'), 'héllo wörld'],
    ['=?base64?not base64!?=', undefined],
    ['=?base64?YQ?=', undefined], // not canonical (padding missing)
    [`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`, undefined], // not UTF-8
  ])('%s', (v, want) => expect(decodeHeaderValue(v)).toBe(want));
});

describe('checkMcpHeaders', () => {
  it('accepts a modern request whose headers mirror the body', () => {
    expect(checkMcpHeaders(modernHeaders(), call('get_issue'))).toBeUndefined();
    expect(checkMcpHeaders(modernHeaders({ 'mcp-name': b64('get_issue') }), call('get_issue'))).toBeUndefined();
  });
  it('accepts legacy requests without any of the headers', () => {
    expect(checkMcpHeaders({}, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } })).toBeUndefined();
    expect(checkMcpHeaders({}, { jsonrpc: '2.0', method: 'notifications/initialized' })).toBeUndefined();
  });
  it.each([
    ['protocol version differs', modernHeaders({ 'mcp-protocol-version': '2025-11-25' }), call('get_issue'), 'mcp-protocol-version', 'mismatch'],
    ['protocol version missing', { 'mcp-method': 'tools/call', 'mcp-name': 'get_issue' }, call('get_issue'), 'mcp-protocol-version', 'missing'],
    ['method missing', { 'mcp-protocol-version': V, 'mcp-name': 'get_issue' }, call('get_issue'), 'mcp-method', 'missing'],
    ['method differs', modernHeaders({ 'mcp-method': 'tools/list' }), call('get_issue'), 'mcp-method', 'mismatch'],
    ['name differs', modernHeaders({ 'mcp-name': 'get_issue' }), call('delete_repo'), 'mcp-name', 'mismatch'],
    ['name differs once decoded', modernHeaders({ 'mcp-name': b64('get_issue') }), call('delete_repo'), 'mcp-name', 'mismatch'],
    ['name badly encoded', modernHeaders({ 'mcp-name': '=?base64?%%%?=' }), call('get_issue'), 'mcp-name', 'invalid_encoding'],
    ['name missing', { 'mcp-protocol-version': V, 'mcp-method': 'tools/call' }, call('get_issue'), 'mcp-name', 'missing'],
    ['name repeated', modernHeaders({ 'mcp-name': ['get_issue', 'delete_repo'] }), call('get_issue'), 'mcp-name', 'repeated'],
    ['legacy request, method header differs', { 'mcp-method': 'tools/list' }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }, 'mcp-method', 'mismatch'],
    ['legacy request, name header differs', { 'mcp-name': 'y' }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }, 'mcp-name', 'mismatch'],
    ['param header badly encoded', modernHeaders({ 'mcp-param-region': '=?base64?***?=' }), call('get_issue'), 'mcp-param-region', 'invalid_encoding'],
  ])('refuses: %s', (_name, headers, body, header, problem) => {
    expect(checkMcpHeaders(headers, body)).toEqual({ header, problem });
  });
  it('checks resources/read against params.uri', () => {
    const body = { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'file:///a', _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
    expect(checkMcpHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'resources/read', 'mcp-name': 'file:///a' }, body)).toBeUndefined();
    expect(checkMcpHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'resources/read', 'mcp-name': 'file:///b' }, body)).toEqual({ header: 'mcp-name', problem: 'mismatch' });
  });
  it('a modern notification needs no headers, but a present one must match', () => {
    const n = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
    expect(checkMcpHeaders({}, n)).toBeUndefined();
    expect(checkMcpHeaders({ 'mcp-method': 'tools/call' }, n)).toEqual({ header: 'mcp-method', problem: 'mismatch' });
  });

  describe('Mcp-Param-* against x-mcp-header declarations', () => {
    const schema = { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, count: { type: 'integer', 'x-mcp-header': 'Count' }, nested: { type: 'object', properties: { flag: { type: 'boolean', 'x-mcp-header': 'Flag' } } }, list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Nope' } } } };
    const decl = paramDeclarations(schema);
    it('finds declarations reachable through properties only', () => {
      expect(decl.map((d) => [d.path.join('.'), d.header])).toEqual([['region', 'mcp-param-region'], ['count', 'mcp-param-count'], ['nested.flag', 'mcp-param-flag']]);
    });
    it('passes matching headers (sentinel, numbers, booleans)', () => {
      const body = call('get_issue', { region: 'eu wést', count: 3, nested: { flag: true } });
      expect(checkMcpHeaders(modernHeaders({ 'mcp-param-region': b64('eu wést'), 'mcp-param-count': '3.0', 'mcp-param-flag': 'true' }), body, decl)).toBeUndefined();
    });
    it('refuses a missing or disagreeing parameter header', () => {
      const body = call('get_issue', { region: 'eu', count: 3 });
      expect(checkMcpHeaders(modernHeaders({ 'mcp-param-count': '3' }), body, decl)).toEqual({ header: 'mcp-param-region', problem: 'missing' });
      expect(checkMcpHeaders(modernHeaders({ 'mcp-param-region': 'us', 'mcp-param-count': '3' }), body, decl)).toEqual({ header: 'mcp-param-region', problem: 'mismatch' });
      expect(checkMcpHeaders(modernHeaders({ 'mcp-param-region': 'eu', 'mcp-param-count': '4' }), body, decl)).toEqual({ header: 'mcp-param-count', problem: 'mismatch' });
    });
  });

  it('envelopeVersion reads params._meta', () => {
    expect(envelopeVersion(call('x'))).toBe(V);
    expect(envelopeVersion({ params: {} })).toBeUndefined();
  });
});
