/**
 * Recorded text is printed to an analyst's terminal: control characters (escape sequences above all) are shown
 * escaped, never emitted raw. `\n` and `\t` can be kept for multi-line output; `\r\n` becomes `\n`.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_WITH_NEWLINES = /[\u0000-\u001f\u007f-\u009f]/g;

function escape(ch: string): string {
  switch (ch) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\u001b':
      return '\\e';
    default:
      return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
}

/** One-line text: every control character escaped. */
export function safeInline(text: string): string {
  return text.replace(CONTROL_WITH_NEWLINES, escape);
}

/** Multi-line text: newlines and tabs kept, other control characters escaped. */
export function safeBlock(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(CONTROL, escape);
}
