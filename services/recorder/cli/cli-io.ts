import { UsageError } from '../errors.js';

/** What a CLI command touches outside itself, injectable for tests. */
export type CliIo = {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch: typeof fetch;
  now: () => Date;
};

export const processIo: CliIo = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  fetch: (input, init) => fetch(input, init),
  now: () => new Date(),
};

export const DEFAULT_RECORDER_URL = 'http://127.0.0.1:8610';

/** The replay API base URL: `--recorder`, else $GATEHOUSE_RECORDER_URL, else the local default. */
export function recorderUrl(flag: string | undefined, io: CliIo): string {
  return (flag ?? io.env.GATEHOUSE_RECORDER_URL ?? DEFAULT_RECORDER_URL).replace(/\/+$/, '');
}

/** Where the replay API is and the access token to call it with. */
export type RecorderApi = { readonly base: string; readonly token: string | undefined };

/** `--recorder`/$GATEHOUSE_RECORDER_URL and the access token: `--token`, else $GATEHOUSE_TOKEN. */
export function recorderApi(
  flags: { recorder?: string | undefined; token?: string | undefined },
  io: CliIo,
): RecorderApi {
  const token = (flags.token ?? io.env.GATEHOUSE_TOKEN)?.trim();
  return { base: recorderUrl(flags.recorder, io), token: token === '' ? undefined : token };
}

/** The `parseArgs` options `sessions` and `timeline` share: filters, the replay API, the output format. */
export const QUERY_OPTIONS = {
  identity: { type: 'string' },
  connection: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  recorder: { type: 'string' },
  token: { type: 'string' },
  format: { type: 'string', default: 'text' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--format`: text or json. */
export function queryFormat(format: string): 'text' | 'json' {
  if (format !== 'text' && format !== 'json') throw new UsageError('--format: text or json');
  return format;
}

/** `--limit`: undefined when absent, else a whole number from 1 to `max`. */
export function parseLimit(text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`--limit: an integer from 1 to ${max}`);
  return n;
}
