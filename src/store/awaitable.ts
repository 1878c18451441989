// Store methods answer `Awaitable<T>`: a remote store (Redis) returns a promise, an in-process one
// (SQLite behind a write-through cache) may return the value itself. Callers off the request path
// just `await`; the request path uses `andThen`, which takes no microtask turn for a plain value.

export type Awaitable<T> = T | Promise<T>;

export function isPromise<T>(v: Awaitable<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** `f(v)` now when `v` is a value; `v.then(f)` when it is a promise. */
export function andThen<T, R>(v: Awaitable<T>, f: (value: T) => Awaitable<R>): Awaitable<R> {
  return isPromise(v) ? v.then(f) : f(v);
}
