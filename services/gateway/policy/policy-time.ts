import type { PolicyTime, Weekday } from './types.js';

const WEEKDAYS: readonly Weekday[] = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
];

/** `input.time` for an instant: unix seconds, and weekday and hour in UTC (OPA's `time.weekday` spelling). */
export function policyTime(at: Date): PolicyTime {
  return {
    unix: Math.floor(at.getTime() / 1000),
    weekday: WEEKDAYS[at.getUTCDay()] ?? 'Sunday',
    hour: at.getUTCHours(),
  };
}
