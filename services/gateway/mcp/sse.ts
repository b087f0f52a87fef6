import { McpErrorCode, McpUpstreamError } from './errors.js';

/** One server-sent event (only the fields MCP uses). */
export type SseEvent = { readonly event: string; readonly data: string; readonly id: string | undefined };

/**
 * Incremental `text/event-stream` parser: push decoded text chunks, get complete events. Bounded: an event whose
 * data grows past `maxEventBytes` (UTF-16 units) throws. Comments (keep-alives) and `retry:` are dropped.
 */
export class SseParser {
  readonly #max: number;
  #buffer = '';
  #data: string[] = [];
  #dataLength = 0;
  #event = '';
  #id: string | undefined;

  constructor(maxEventBytes: number) {
    this.#max = maxEventBytes;
  }

  push(chunk: string): SseEvent[] {
    this.#buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.#buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const sep = this.#buffer.startsWith('\r\n', nl) ? 2 : 1;
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + sep);
      const event = this.#line(line);
      if (event) out.push(event);
    }
    if (this.#buffer.length + this.#dataLength > this.#max) {
      throw new McpUpstreamError(
        McpErrorCode.upstreamProtocol,
        `an upstream event exceeds ${this.#max} bytes`,
      );
    }
    return out;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const event: SseEvent = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id };
      this.#data = [];
      this.#dataLength = 0;
      this.#event = '';
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#data.push(value);
      this.#dataLength += value.length + 1;
    } else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}

/** The wire text of one event (data split on newlines, as the format requires). */
export function encodeSseEvent(e: { event?: string; data: string; id?: string | undefined }): string {
  let out = '';
  if (e.id !== undefined) out += `id: ${e.id.replace(/[\r\n]/g, '')}\n`;
  if (e.event !== undefined && e.event !== 'message') out += `event: ${e.event.replace(/[\r\n]/g, '')}\n`;
  else out += 'event: message\n';
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}
