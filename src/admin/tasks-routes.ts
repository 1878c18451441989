// Admin API for tasks (DESIGN.md): POST /v1/tasks, GET|PATCH|DELETE /v1/tasks/{id}.
// Faults are thrown as WardenErrors; src/admin/server.ts turns them into coded answers.

import { WardenError } from '../errors.js';
import { TaskInputError } from '../tasks/errors.js';
import type { TaskService } from '../tasks/task-service.js';
import type { AdminRequest, AdminResponse, AdminRoute } from './route.js';

export function tasksRoutes(service: TaskService): AdminRoute {
  const route = taskAnswers(service);
  return async (req) => {
    try {
      return await route(req);
    } catch (err) {
      // The task domain names the field at fault; to an admin client that is a malformed request.
      if (err instanceof TaskInputError) throw new WardenError('ADMIN_BAD_REQUEST', err.message, { cause: err });
      throw err;
    }
  };
}

function taskAnswers(service: TaskService): (req: AdminRequest) => Promise<AdminResponse | undefined> {
  return async (req) => {
    const [v1, tasks, id, ...rest] = req.segments;
    if (v1 !== 'v1' || tasks !== 'tasks' || rest.length > 0) return undefined;

    if (id === undefined) {
      if (req.method !== 'POST') throw notAllowed(req, 'POST');
      return { status: 201, body: await service.create(req.body ?? {}) };
    }
    switch (req.method) {
      case 'GET':
        return found(id, await service.get(id));
      case 'PATCH':
        return found(id, await service.patch(id, req.body ?? {}));
      case 'DELETE':
        return found(id, await service.revoke(id));
      default:
        throw notAllowed(req, 'GET, PATCH, DELETE');
    }
  };
}

function found(id: string, body: unknown): AdminResponse {
  if (body === undefined) throw new WardenError('ADMIN_NOT_FOUND', `task ${id}`);
  return { status: 200, body };
}

// The registry has no 405 code; a wrong method is a malformed request that names what is allowed.
function notAllowed(req: AdminRequest, allowed: string): WardenError {
  return new WardenError('ADMIN_BAD_REQUEST', `method ${req.method} is not allowed on ${req.path} (allowed: ${allowed})`);
}
