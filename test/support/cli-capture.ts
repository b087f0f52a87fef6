import type { CliIo } from '../../services/recorder/cli/cli-io.js';

/** A recorder CLI's I/O with the real `fetch` and clock, keeping what it prints; `env` is all it sees. */
export function captureCliIo(
  env: Readonly<Record<string, string>>,
): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    env,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    fetch: (input, init) => fetch(input, init),
    now: () => new Date(),
    out,
    err,
  };
}
