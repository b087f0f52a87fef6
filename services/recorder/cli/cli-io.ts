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
