// Admin API for MCP tool definitions (DESIGN.md "Admin API"): `GET /v1/tools` lists the
// definitions seen per upstream with digest, pin and status; `POST /v1/tools/{upstream}/{tool}/pin`
// accepts the definition last seen as the pin after an operator reviewed it.

import { WardenError } from '../errors.js';
import type { ToolRegistry } from '../mcp/tool-registry.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './route.js';

export function toolsRoutes(registry: ToolRegistry): AdminRoute {
  return async (req: AdminRequest): Promise<AdminResponse | undefined> => {
    const [v1, resource, upstream, tool, action, ...rest] = req.segments;
    if (v1 !== 'v1' || resource !== 'tools' || rest.length > 0) return undefined;
    if (upstream === undefined) {
      if (req.method !== 'GET') return undefined;
      const tools = await registry.list();
      const only = req.query.get('upstream');
      return { status: 200, body: { tools: only ? tools.filter((t) => t.upstream === only) : tools } };
    }
    if (req.method !== 'POST' || tool === undefined || action !== 'pin') return undefined;
    const view = await registry.pin(upstream, tool);
    if (!view) throw new WardenError('ADMIN_NOT_FOUND', `tool ${upstream}/${tool}`);
    return { status: 200, body: view };
  };
}
