// Freezing a value and everything it holds: configuration, and values shared between requests
// (a cached policy decision, a cached `input.agent`) that no request may change.

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
