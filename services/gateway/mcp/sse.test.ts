import { describe, expect, it } from 'vitest';
import { encodeSseEvent, SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events split across chunks, with CRLF, comments and multi-line data', () => {
    const p = new SseParser(1024);
    expect(p.push(': keep-alive\r\nevent: message\r\nid: 7\r\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\r\n\r\ndata: x\ndata: y\n\n')).toEqual([
      { event: 'message', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'x\ny', id: '7' },
    ]);
  });

  it('refuses an event larger than the bound', () => {
    const p = new SseParser(16);
    expect(() => p.push(`data: ${'x'.repeat(32)}`)).toThrow(/exceeds 16 bytes/);
  });

  it('encodes an event so that it parses back', () => {
    const wire = encodeSseEvent({ data: 'a\nb', id: '3' });
    expect(new SseParser(1024).push(wire)).toEqual([{ event: 'message', data: 'a\nb', id: '3' }]);
  });
});
