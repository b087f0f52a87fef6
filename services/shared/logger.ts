import { pino } from 'pino';
import type { Logger } from 'pino';
import { serializeErr } from './log-error.js';

export type { Logger } from 'pino';

/** Paths redacted wherever they appear in a log object. Secrets must never reach a log line in the first place;
 * this is the second line of defence. */
const REDACT = [
  'password',
  'token',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.authorization',
  '*.secret',
  '*.accessToken',
];

export type LoggerOptions = {
  level?: string;
  service: string;
  nodeId?: string;
  destination?: NodeJS.WritableStream;
};

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service, node: opts.nodeId },
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: serializeErr },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? process.stdout,
  );
}
