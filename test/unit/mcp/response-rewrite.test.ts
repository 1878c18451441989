import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { mcpResponseRewriter } from '../../../src/mcp/response-rewrite.js';
import { filterToolsList } from '../../../src/mcp/tools-filter.js';
import { toolDefinitionInput } from '../../../src/mcp/tool-digest.js';

const list = (id: number) => ({ jsonrpc: '2.0', id, result: { tools: [{ name: 'get_a' }, { name: 'run_shell' }, { name: 'delete_b' }], nextCursor: 'c' } });

function filter(hidden: string[]) {
  return (m: Record<string, unknown>) =>
    filterToolsList(m, 1, { observe: (tools) => new Map(tools.map((t) => [t.name as string, toolDefinitionInput('sha256:x', 'sha256:x')!])), visible: (name) => name !== 'run_shell' }, hidden);
}

async function through(contentType: string, chunks: string[], rewrite: (m: Record<string, unknown>) => unknown): Promise<string> {
  const t = mcpResponseRewriter(contentType, rewrite as never, { maxJsonBytes: 1000, strict: true })!;
  return text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(t));
}

describe('tools/list filtering in both body forms', () => {
  it('JSON: removes the denied tool and names it', async () => {
    const hidden: string[] = [];
    const out = JSON.parse(await through('application/json; charset=utf-8', [JSON.stringify(list(1))], filter(hidden)));
    expect(out.result.tools.map((t: { name: string }) => t.name)).toEqual(['get_a', 'delete_b']);
    expect(out.result.nextCursor).toBe('c');
    expect(hidden).toEqual(['run_shell']);
  });
  it('SSE: rewrites the result event and passes the rest as sent', async () => {
    const hidden: string[] = [];
    const out = await through('text/event-stream', ['id: p\ndata: \n\n', `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n`, `id: 2\ndata: ${JSON.stringify(list(1))}\n\n`], filter(hidden));
    const events = out.split('\n\n').filter(Boolean);
    expect(events[0]).toBe('id: p\ndata: ');
    expect(events[1]).toContain('notifications/progress');
    expect(JSON.parse(events[2]!.split('data: ')[1]!).result.tools).toHaveLength(2);
    expect(hidden).toEqual(['run_shell']);
  });
  it('leaves results of other requests alone', async () => {
    const hidden: string[] = [];
    const body = JSON.stringify(list(2));
    expect(await through('application/json', [body], filter(hidden))).toBe(body);
    expect(hidden).toEqual([]);
  });
  it('fails (strict) on a JSON body it cannot read or that is too large, instead of passing it unfiltered', async () => {
    await expect(through('application/json', ['{"jsonrpc": '], filter([]))).rejects.toThrow(/not JSON/);
    await expect(through('application/json', ['x'.repeat(1001)], filter([]))).rejects.toThrow(/too large/);
  });
  it('passes other content types untouched', () => {
    expect(mcpResponseRewriter('text/plain', (m) => m, { maxJsonBytes: 1, strict: true })).toBeUndefined();
  });
});
