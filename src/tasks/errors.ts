// The task domain's own fault: a task request with a field at fault. Whoever takes task requests
// from outside maps it to its answer (the admin API: ADMIN_BAD_REQUEST naming the field).

export class TaskInputError extends Error {
  override readonly name = 'TaskInputError';

  /** `message` names the field first: "ttl: must be at least 1s". */
  constructor(message: string) {
    super(message);
  }
}
