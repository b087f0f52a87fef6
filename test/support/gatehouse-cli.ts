import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type CliRun = { status: number | null; stdout: string; stderr: string };

/**
 * Runs `gatehouse ARGS…` from the sources (tsx) as its own process — so the client programs it starts (psql, ssh)
 * are real children with real stdio — with exactly `env` (plus PATH). `onStderr` sees stderr as it grows.
 */
export function runGatehouseCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: { onStderr?: (soFar: string) => void; timeoutMs?: number; stdin?: string } = {},
): Promise<CliRun> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./services/cli/main.ts').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })",
      ...args,
    ],
    { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stdin.end(opts.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr);
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
