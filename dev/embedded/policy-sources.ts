import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The prebuilt default bundle `npm start` loads (no Go toolchain needed): `npm run policy:prebuild` writes it. */
export const PREBUILT_POLICY_DIR = fileURLToPath(new URL('../../policies/prebuilt/', import.meta.url));

const POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/**
 * sha256 over what the bundle is compiled from: the Rego sources and data of `policies/gatehouse` (tests left
 * out, as policies/build.sh leaves them out), the capabilities and the build script, each as `path NUL content NUL`
 * in path order. `policies/prebuilt/sources.sha256` holds the value it was built from; a unit test compares.
 */
export function policySourcesDigest(root = POLICIES_DIR): string {
  const inputs = [
    ...files(join(root, 'gatehouse')).filter((f) => !f.endsWith('_test.rego')),
    join(root, 'capabilities.json'),
    join(root, 'build.sh'),
  ]
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const rel of inputs)
    hash
      .update(rel)
      .update('\0')
      .update(readFileSync(join(root, rel)))
      .update('\0');
  return hash.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${policySourcesDigest()}\n`);
