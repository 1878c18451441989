// JSON text of frozen objects, made once per object: a frozen object cannot change, so its text
// cannot either. Policy results and static lanes' credential entries (decision-log.ts) and agents
// (proxy/request-input.ts) repeat from request to request. Only the object itself is checked:
// callers pass objects frozen all through.

const texts = new WeakMap<object, string>();

/** JSON.stringify(v), kept for a frozen object; anything else is serialized each time. */
export function frozenJson(v: unknown): string {
  if (typeof v !== 'object' || v === null || !Object.isFrozen(v)) return JSON.stringify(v) ?? 'null';
  let text = texts.get(v);
  if (text === undefined) texts.set(v, (text = JSON.stringify(v)));
  return text;
}
