import { UsageError } from '../errors.js';
import { parseTime } from '../replay/http-api.js';
import { safeInline } from '../replay/safe-text.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since 90m` / `1h` / `2d` / `1w` (a duration before `now`), or an absolute ISO 8601 time or unix seconds. */
export function parseSince(text: string, now: Date, flag = '--since'): Date {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (m) return new Date(now.getTime() - Number(m[1]) * UNITS[m[2]!]!);
  const abs = parseTime(text.trim());
  if (abs === undefined)
    throw new UsageError(
      `${flag}: expected a duration like 30m, 1h, 7d or a time, got '${safeInline(text)}'`,
    );
  return abs;
}
