// Masking of decision-log input paths (`input.request.body.password`). Only the objects along a
// masked path are copied, so the common case (nothing to mask) costs nothing.

export const REDACTED = '**REDACTED**';

export type MaskPath = readonly string[];

export function compileMasks(paths: readonly string[]): MaskPath[] {
  // "input.request.body.password" → ["request", "body", "password"]
  return paths.map((p) => p.split('.').slice(1));
}

function maskOne(value: unknown, path: MaskPath, depth: number): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const key = path[depth]!;
  if (!Object.prototype.hasOwnProperty.call(value, key)) return value;
  const obj = value as Record<string, unknown>;
  const next = depth === path.length - 1 ? REDACTED : maskOne(obj[key], path, depth + 1);
  return next === obj[key] ? value : { ...obj, [key]: next };
}

export function applyMasks<T>(input: T, masks: readonly MaskPath[]): T {
  let out: unknown = input;
  for (const m of masks) if (m.length > 0) out = maskOne(out, m, 0);
  return out as T;
}
