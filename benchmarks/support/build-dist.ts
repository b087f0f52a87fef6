import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../test/support/stack.js';

/**
 * `node bin/gatehouse.js` runs the compiled tree (dist/). The bench compiles it (`npm run build:dev`, as
 * `cluster:up` does) when a source file is newer than dist/, so it always measures the code of the work tree.
 */
const SOURCES = ['services', 'dev', 'proto/gen'];
const OUTPUT = join(PROJECT_ROOT, 'dist', 'services', 'cli', 'main.js');

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function outputMs(): number {
  try {
    return statSync(OUTPUT).mtimeMs;
  } catch {
    return 0; // never built
  }
}

/** Builds dist/ when `force` or when it is older than the sources; returns whether it built. */
export function ensureDist(force: boolean): boolean {
  const newest = Math.max(...SOURCES.map((s) => newestSourceMs(join(PROJECT_ROOT, s))));
  if (!force && outputMs() >= newest) return false;
  console.log('building dist/ (npm run build:dev) …');
  execFileSync('npm', ['run', '--silent', 'build:dev'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  return true;
}
