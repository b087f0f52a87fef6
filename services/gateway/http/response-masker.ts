import { maskText, resolveDetectors } from '../masking/index.js';
import type { Detector } from '../masking/index.js';
import { parsePath, replaceAtPath } from '../mcp/json-paths.js';
import type { PathSegment } from '../mcp/json-paths.js';

/** What replaces a value selected by a field path. */
export const MASKED_VALUE = '***';

export type HttpMasker = {
  /** true when the decision asks for masking (paths or detectors): bodies must then be buffered. */
  readonly active: boolean;
  /** Masks a parsed JSON body in place: field paths first, then the detectors over every string value. */
  maskJson(body: unknown): unknown;
  /** Masks a text body with the detectors only. */
  maskText(text: string): string;
};

function maskStrings(value: unknown, detectors: readonly Detector[]): unknown {
  if (typeof value === 'string') return maskText(value, detectors);
  if (value === null || typeof value !== 'object') return value;
  const container = value as Record<string, unknown>;
  for (const k of Object.keys(container)) container[k] = maskStrings(container[k], detectors);
  return value;
}

/** The masker of a decision that masks nothing (most requests): one object, not one per response. */
const NO_MASKS: HttpMasker = Object.freeze({
  active: false,
  maskJson: (body: unknown) => body,
  maskText: (text: string) => text,
});

/** The masker for one response: `fields` are the decision's `mask.fields`, `detectorNames` its `mask.detectors`. */
export function createHttpMasker(fields: readonly string[], detectorNames: readonly string[]): HttpMasker {
  if (fields.length === 0 && detectorNames.length === 0) return NO_MASKS;
  const paths: PathSegment[][] = fields.map(parsePath);
  const detectors = detectorNames.length > 0 ? resolveDetectors(detectorNames) : [];
  return {
    active: paths.length > 0 || detectors.length > 0,
    maskJson(body) {
      if (paths.length > 0) {
        // A bare top-level array: paths are read relative to it.
        for (const p of paths) replaceAtPath(body, p, MASKED_VALUE);
      }
      return detectors.length > 0 ? maskStrings(body, detectors) : body;
    },
    maskText: (text) => (detectors.length > 0 ? maskText(text, detectors) : text),
  };
}
