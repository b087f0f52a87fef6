import { PolicyUsageError } from './policy-cli-env.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `--since 90m|24h|7d|1w` (or an ISO time) as a Date. */
export function parseSince(text: string, now = Date.now()): Date {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (m) return new Date(now - Number(m[1]) * UNITS[m[2]!]! * 1000);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new PolicyUsageError(`--since: expected e.g. 1h, 24h, 7d or an ISO time, not "${text}"`);
  return new Date(t);
}
