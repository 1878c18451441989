// Types of scripts/mcp-reference-server.mjs for the TypeScript tests.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

export interface SdkV1Server {
  readonly url: string;
  readonly sessions: Map<string, unknown>;
  close(): Promise<void>;
}

export function serveSdkV1(createServer: () => McpServer, opts?: { port?: number }): Promise<SdkV1Server>;
export function startReferenceServer(opts?: { port?: number }): Promise<SdkV1Server>;
