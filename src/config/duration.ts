// Durations as written in the configuration and the admin API: "500ms", "30s", "10m", "1h".

import { WardenError } from '../errors.js';

/** The written form, also the pattern of duration strings in the JSON Schema. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?(ms|s|m|h)\\s*$';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s" → 30000. Numbers are taken as milliseconds. Throws CONFIG_INVALID naming `path`. */
export function parseDuration(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!m) throw new WardenError('CONFIG_INVALID', `${path || '(root)'}: ${durationExpected(value)}`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

export function durationExpected(value: unknown): string {
  return `expected a duration such as "500ms", "30s", "10m" or "1h", got ${show(value)}`;
}

/** A short, printable form of a configuration value for messages (never used for secrets). */
export function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
