// The shape every admin route module implements; src/admin/server.ts parses the request
// (JSON body, bearer admin token) and turns a thrown WardenError into its coded answer.

export interface AdminRequest {
  readonly method: string;
  /** Path without query, e.g. `/v1/tasks/abc`. */
  readonly path: string;
  /** Path split on `/` without empty parts: `['v1', 'tasks', 'abc']`. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** Parsed JSON body, or undefined when there was none. */
  readonly body: unknown;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** Answers the request, or returns undefined when the path is not its own. */
export type AdminRoute = (req: AdminRequest) => Promise<AdminResponse | undefined> | AdminResponse | undefined;
