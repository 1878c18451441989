// MCP tool servers written with the official SDKs, on 127.0.0.1 port 0, whose tools the example
// policy classifies (search_*, get_* read; create_* write; delete_* destructive; run_shell unknown):
//   v1  `@modelcontextprotocol/sdk` 1.x: MCP 2025-11-25, sessions, resumable event streams, GET
//       stream, server requests (delete_repo asks for confirmation by elicitation/create)
//   v2  `@modelcontextprotocol/server` 2.x: 2026-07-28 (stateless, server/discover, MRTR:
//       delete_repo, the tool and the prompt, asks for confirmation with an input_required round;
//       a resource config://secrets) and the 2025 fallback
// Both record what reached them, so a test sees what Warden let through.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer as V1Server } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpServer as V2Server, acceptedContent, createMcpHandler, inputRequired } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';
import { serveSdkV1 } from '../../scripts/mcp-reference-server.mjs';

export interface ToolServerState {
  /** Tool calls that reached the server, in order (`name` or `name:round`; v2 also `prompt:name:round`, `resource:uri`). */
  readonly calls: string[];
  /** Tool calls whose request was aborted while running. */
  readonly aborted: string[];
  /** The description get_weather lists; change it to pull the rug. */
  weatherDescription: string;
  /** The requestState each delete_repo round (tool or prompt) of the v2 server received (undefined: none). */
  readonly requestStates: (string | undefined)[];
}

export interface ToolServer {
  readonly url: string;
  readonly state: ToolServerState;
  /** v2: publish notifications/tools/list_changed to open `subscriptions/listen` streams. */
  readonly toolsChanged?: () => void;
  close(): Promise<void>;
}

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve(false);
    }, { once: true });
  });

function newState(): ToolServerState {
  return { calls: [], aborted: [], weatherDescription: 'Current weather for a city', requestStates: [] };
}

/** SDK 1.x server (MCP 2025-11-25). */
export async function startV1ToolServer(): Promise<ToolServer> {
  const state = newState();
  const build = () => {
    const server = new V1Server({ name: 'tools-v1', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool('search_code', { description: 'Search code', inputSchema: { q: z.string() } }, async ({ q }, extra) => {
      state.calls.push('search_code');
      const token = extra._meta?.progressToken;
      if (token !== undefined) for (const progress of [1, 2]) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 2 } });
      return text(`found ${q}`);
    });
    server.registerTool('get_slow', { description: 'A slow read', inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
      state.calls.push('get_slow');
      if (!(await sleep(ms, extra.signal))) state.aborted.push('get_slow');
      return text('slow done');
    });
    // Closes its response stream after the first progress event (as a server going to polling or
    // a dropped connection would); the rest is kept in the event store for the client to resume.
    server.registerTool('get_ticks', { description: 'Three ticks, the stream closed after the first', inputSchema: { n: z.number() } }, async ({ n }, extra) => {
      state.calls.push('get_ticks');
      const token = extra._meta?.progressToken!;
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: n } });
      extra.closeSSEStream?.();
      for (let progress = 2; progress <= n; progress++) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: n } });
      return text(`ticked ${n}`);
    });
    server.registerTool('get_weather', { description: state.weatherDescription, inputSchema: { city: z.string() } }, async ({ city }) => {
      state.calls.push('get_weather');
      return text(`sunny in ${city}`);
    });
    server.registerTool('create_issue', { description: 'Create an issue', inputSchema: { title: z.string() } }, async ({ title }) => {
      state.calls.push('create_issue');
      return text(`created ${title}`);
    });
    server.registerTool('delete_repo', { description: 'Delete a repository', inputSchema: { repo: z.string() } }, async ({ repo }, extra) => {
      state.calls.push('delete_repo');
      const r = await extra.sendRequest({ method: 'elicitation/create', params: { message: `Delete ${repo}?`, requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } } }, ElicitResultSchema);
      return text(r.action === 'accept' && r.content?.confirm === true ? `deleted ${repo}` : `kept ${repo}`);
    });
    server.registerTool('run_shell', { description: 'Run a shell command', inputSchema: { cmd: z.string() } }, async () => {
      state.calls.push('run_shell');
      return text('ran');
    });
    server.registerResource('readme', 'file:///readme', { description: 'The readme', mimeType: 'text/plain' }, async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'hello' }] }));
    server.registerPrompt('summarize', { description: 'Summarize', argsSchema: { topic: z.string() } }, async ({ topic }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `summarize ${topic}` } }] }));
    return server;
  };
  // The listed description is read when a session's server is built: a rug pull shows on the
  // next session (as on a redeployed server).
  const served = await serveSdkV1(build);
  return { url: served.url, state, close: () => served.close() };
}

/** SDK 2.x server (MCP 2026-07-28, with the stateless 2025 fallback). */
export async function startV2ToolServer(): Promise<ToolServer> {
  const state = newState();
  const factory = () => {
    const server = new V2Server({ name: 'tools-v2', version: '2.0.0' });
    server.registerTool('search_code', { description: 'Search code', inputSchema: z.object({ q: z.string() }) }, async ({ q }) => {
      state.calls.push('search_code');
      return text(`found ${q}`);
    });
    server.registerTool('get_slow', { description: 'A slow read', inputSchema: z.object({ ms: z.number() }) }, async ({ ms }, ctx) => {
      state.calls.push('get_slow');
      if (!(await sleep(ms, ctx.mcpReq.signal))) state.aborted.push('get_slow');
      return text('slow done');
    });
    server.registerTool('get_weather', { description: state.weatherDescription, inputSchema: z.object({ city: z.string() }) }, async ({ city }) => {
      state.calls.push('get_weather');
      return text(`sunny in ${city}`);
    });
    server.registerTool('create_issue', { description: 'Create an issue', inputSchema: z.object({ title: z.string() }) }, async ({ title }) => {
      state.calls.push('create_issue');
      return text(`created ${title}`);
    });
    // Multi round-trip: the first round asks for a confirmation, the retry carries the answer.
    server.registerTool('delete_repo', { description: 'Delete a repository', inputSchema: z.object({ repo: z.string() }) }, async ({ repo }, ctx) => {
      const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
      state.calls.push(confirmed ? 'delete_repo:2' : 'delete_repo:1');
      state.requestStates.push(ctx.mcpReq.requestState<string>());
      if (!confirmed) return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: `Delete ${repo}?`, requestedSchema: z.object({ confirm: z.boolean() }) }) }, requestState: 'server-round-1' });
      return text(confirmed.confirm === true ? `deleted ${repo}` : `kept ${repo}`);
    });
    server.registerTool('run_shell', { description: 'Run a shell command', inputSchema: z.object({ cmd: z.string() }) }, async () => {
      state.calls.push('run_shell');
      return text('ran');
    });
    // A prompt named like the tool, with the same argument (so a call's binding must tell them
    // apart by method), that also asks for a confirmation round; and a plain resource.
    server.registerPrompt('delete_repo', { description: 'Draft the notice of a repository deletion', argsSchema: z.object({ repo: z.string() }) }, async ({ repo }, ctx) => {
      const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
      state.calls.push(confirmed ? 'prompt:delete_repo:2' : 'prompt:delete_repo:1');
      state.requestStates.push(ctx.mcpReq.requestState<string>());
      if (!confirmed) return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: `Draft for ${repo}?`, requestedSchema: z.object({ confirm: z.boolean() }) }) }, requestState: 'prompt-round-1' });
      return { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: `${repo} is deleted` } }] };
    });
    server.registerResource('secrets', 'config://secrets', { mimeType: 'text/plain' }, async (uri) => {
      state.calls.push(`resource:${uri.href}`);
      return { contents: [{ uri: uri.href, text: 'the secrets' }] };
    });
    return server;
  };
  const mcp = createMcpHandler(factory);
  const handler = toNodeHandler(mcp);
  const http: Server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    state,
    toolsChanged: () => mcp.notify.toolsChanged(),
    close: () =>
      new Promise((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
