import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of `input` a policy can read: `all`, or the set of top-level fields and `time` subfields it names. */
export type InputUse = 'all' | { readonly fields: ReadonlySet<string>; readonly time: ReadonlySet<string> };

const TOP = new Set(['identity', 'connection', 'session', 'request', 'time', 'grants']);

/** Rego source text without comments and string contents (no reference to `input` can hide in either). */
function codeOnly(text: string): string {
  let out = '';
  let quote: '"' | '`' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) {
        quote = undefined;
        out += c;
      }
    } else if (c === '"' || c === '`') {
      quote = c;
      out += c;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/**
 * What a policy's Rego can read of `input`, from its sources: every reference starts with the keyword `input`
 * (imports too: `import input.identity`), so the fields named right after it bound what a decision depends on. A
 * bare or dynamic reference (`input`, `input[x]`) means everything. Over-approximates (strings count), never under.
 */
export function regoInputUse(sources: readonly string[]): InputUse {
  const fields = new Set<string>();
  const time = new Set<string>();
  const ref =
    /(?<![A-Za-z0-9_.])input\b(\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)(\s*\.\s*([A-Za-z_][A-Za-z0-9_]*))?|\s*\[\s*"([^"]*)"\s*\])?/g;
  for (const source of sources) {
    for (const m of codeOnly(source).matchAll(ref)) {
      const field = m[2] ?? m[5];
      if (field === undefined || !TOP.has(field)) return 'all';
      fields.add(field);
      if (field === 'time') {
        const sub = m[4];
        if (sub === undefined) return 'all';
        time.add(sub);
      }
    }
  }
  return { fields, time };
}

/** The policy's `.rego` files under `dir` (tests excluded), or undefined when it holds none (a built bundle). */
export function regoSources(dir: string, depth = 0): string[] | undefined {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (depth < 8) out.push(...(regoSources(path, depth + 1) ?? []));
    } else if (name.endsWith('.rego') && !name.endsWith('_test.rego')) out.push(readFileSync(path, 'utf8'));
  }
  return out.length > 0 ? out : undefined;
}
