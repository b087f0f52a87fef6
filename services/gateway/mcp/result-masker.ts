import { maskText, resolveDetectors } from '../masking/index.js';
import type { Detector } from '../masking/index.js';
import { parsePath, replaceAtPath } from './json-paths.js';
import type { PathSegment } from './json-paths.js';

/** What replaces a value selected by a field path. */
export const MASKED_VALUE = '***';

export type McpMasker = {
  /** Masks one server-to-client message body in place; returns how many values were replaced. */
  mask(body: Record<string, unknown>): number;
  readonly active: boolean;
};

const detectorCache = new Map<string, readonly Detector[]>();

function detectorsOf(names: readonly string[]): readonly Detector[] {
  const key = [...names].sort().join(',');
  let d = detectorCache.get(key);
  if (d === undefined) detectorCache.set(key, (d = resolveDetectors(names)));
  return d;
}

function maskStrings(value: unknown, detectors: readonly Detector[]): { value: unknown; n: number } {
  if (typeof value === 'string') {
    const masked = maskText(value, detectors);
    return { value: masked, n: masked === value ? 0 : 1 };
  }
  if (value === null || typeof value !== 'object') return { value, n: 0 };
  let n = 0;
  const container = value as Record<string, unknown>;
  for (const k of Object.keys(container)) {
    const r = maskStrings(container[k], detectors);
    container[k] = r.value;
    n += r.n;
  }
  return { value, n };
}

/**
 * The masker for the messages answering one decided request: `fields` (policy `mask.fields`, JSON paths) are applied
 * to a tool result's `structuredContent` and to every text content block that holds JSON (re-serialised); then the
 * content `detectors` run over every string of the message (result or error), keys excepted.
 */
export function createMcpMasker(fields: readonly string[], detectorNames: readonly string[]): McpMasker {
  const paths: PathSegment[][] = fields.map(parsePath);
  const detectors = detectorNames.length > 0 ? detectorsOf(detectorNames) : [];
  const active = paths.length > 0 || detectors.length > 0;
  return {
    active,
    mask(body) {
      if (!active) return 0;
      let n = 0;
      const result = body.result;
      if (paths.length > 0 && result !== null && typeof result === 'object' && !Array.isArray(result)) {
        const r = result as Record<string, unknown>;
        for (const p of paths) n += replaceAtPath(r.structuredContent, p, MASKED_VALUE);
        if (Array.isArray(r.content)) {
          for (const block of r.content as unknown[]) {
            if (block === null || typeof block !== 'object') continue;
            const b = block as Record<string, unknown>;
            if (b.type !== 'text' || typeof b.text !== 'string') continue;
            let parsed: unknown;
            try {
              parsed = JSON.parse(b.text) as unknown;
            } catch {
              continue; // plain text: only the detectors apply
            }
            let hits = 0;
            for (const p of paths) hits += replaceAtPath(parsed, p, MASKED_VALUE);
            if (hits > 0) b.text = JSON.stringify(parsed);
            n += hits;
          }
        }
      }
      if (detectors.length > 0) {
        for (const k of ['result', 'error', 'params']) {
          if (k in body) {
            const r = maskStrings(body[k], detectors);
            body[k] = r.value;
            n += r.n;
          }
        }
      }
      return n;
    },
  };
}
