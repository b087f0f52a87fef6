import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file of the repository (`policies/build.sh`, `policies/input.schema.json`), found upwards from this module, so
 * that the CLI finds it from the source tree and from dist/ alike; undefined when there is none.
 */
export function repoFile(relative: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}
