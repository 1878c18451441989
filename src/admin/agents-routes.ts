// Admin API for agents (DESIGN.md): POST|GET /v1/agents (GET ?format=csv for the inventory as a
// spreadsheet), GET|PATCH|DELETE /v1/agents/{id}. DELETE retires the agent.

import type { AgentService } from '../agents/agent-service.js';
import { inventoryCsv } from '../agents/inventory.js';
import { badRequest } from '../agents/input.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './route.js';

export function agentsRoutes(service: AgentService): AdminRoute {
  return async (req: AdminRequest): Promise<AdminResponse | undefined> => {
    const [v1, agents, id, ...rest] = req.segments;
    if (v1 !== 'v1' || agents !== 'agents' || rest.length > 0) return undefined;
    if (id === undefined) {
      if (req.method === 'POST') {
        const rec = await service.register(req.body ?? {});
        return { status: 201, body: (await service.views(rec.id))[0] };
      }
      if (req.method !== 'GET') throw badRequest(`method ${req.method} is not allowed on ${req.path} (allowed: GET, POST)`);
      const format = req.query.get('format') ?? 'json';
      const views = await service.views();
      if (format === 'csv') return { status: 200, body: inventoryCsv(views), headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="agents.csv"' } };
      if (format !== 'json') throw badRequest('format: must be json or csv');
      return { status: 200, body: { generated_at: new Date().toISOString(), agents: views } };
    }
    switch (req.method) {
      case 'GET':
        break;
      case 'PATCH':
        await service.patch(id, req.body ?? {});
        break;
      case 'DELETE':
        await service.retire(id);
        break;
      default:
        throw badRequest(`method ${req.method} is not allowed on ${req.path} (allowed: GET, PATCH, DELETE)`);
    }
    return { status: 200, body: (await service.views(id))[0] };
  };
}
