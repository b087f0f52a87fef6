import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError, errorCatalog, errorFamilies, isErrorCode } from './index.js';

const ROOT = join(import.meta.dirname, '../../..');

/** The rows of the README's error table, in order: code, family, meaning, what the client sees. */
function readmeErrorTable(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Errors\n'));
  if (section === undefined) throw new Error('README.md has no "## Errors" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `GH_ERR_'))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'gen' ? [] : sourceFiles(path);
    return /\.(ts|md)$/.test(e.name) ? [path] : [];
  });
}

describe('error catalog', () => {
  it('is documented row by row in the README error table, and nothing else is', () => {
    const documented = readmeErrorTable();
    const catalog = errorCatalog.map((e) => [`\`${e.code}\``, e.family, e.meaning, e.client]);
    expect(documented).toEqual(catalog);
  });

  it('has each code in exactly one family', () => {
    const perFamily = Object.values(errorFamilies).reduce((n, codes) => n + Object.keys(codes).length, 0);
    expect(errorCatalog.length).toBe(perFamily);
    expect(new Set(errorCatalog.map((e) => e.code)).size).toBe(perFamily);
  });

  it('knows every GH_ERR_* code written in services/, bin/ and test/', () => {
    const unknown = new Map<string, string>();
    for (const dir of ['services', 'bin', 'test']) {
      for (const file of sourceFiles(join(ROOT, dir))) {
        for (const [code] of readFileSync(file, 'utf8').matchAll(/\bGH_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g)) {
          if (!isErrorCode(code)) unknown.set(code, file.slice(ROOT.length + 1));
        }
      }
    }
    expect(Object.fromEntries(unknown)).toEqual({});
  });

  it('describes a code by its family and meaning', () => {
    expect(describeError('GH_ERR_PUBLISH_BUFFER_FULL')).toMatchObject({
      family: 'audit',
      code: 'GH_ERR_PUBLISH_BUFFER_FULL',
    });
    expect(isErrorCode('GH_ERR_TOKEN_EXPIRED')).toBe(true);
    expect(isErrorCode(`GH_ERR_${'PUBLISH'}`)).toBe(false); // a prefix is no code
    expect(isErrorCode(42)).toBe(false);
  });
});
