/** What an approval CLI command touches outside itself, injectable for tests. */
export type ApprovalCliIo = {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch: typeof fetch;
};

export const processIo: ApprovalCliIo = {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  fetch: (input, init) => fetch(input, init),
};

export const DEFAULT_APPROVAL_URL = 'http://127.0.0.1:8620';
