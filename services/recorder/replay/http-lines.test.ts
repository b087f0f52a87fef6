import { describe, expect, it } from 'vitest';
import {
  bodyExcerpt,
  httpRequestLines,
  httpRequestSummary,
  httpResponseLines,
  MAX_BODY_CHARS,
  MAX_BODY_LINES,
} from './http-lines.js';

describe('HTTP transcript lines', () => {
  it('shows the request line and an excerpt of the body, control characters escaped', () => {
    expect(httpRequestLines('GET /customers?limit=2')).toEqual(['> GET /customers?limit=2']);
    expect(httpRequestLines('POST /upload\n\n{"a":1}')).toEqual([
      '> POST /upload',
      '> {',
      '>   "a": 1',
      '> }',
    ]);
    expect(httpRequestLines('GET /\u001b[2J\n\nhi\u001b]0;x\u0007')).toEqual([
      '> GET /\\e[2J',
      '> hi\\e]0;x\\x07',
    ]);
    expect(httpRequestSummary('POST /upload\n\n{"a":1}')).toBe('POST /upload body: {"a":1}');
    expect(httpRequestSummary('DELETE /customers/1')).toBe('DELETE /customers/1');
  });

  it('shows status and headers, the masked body, and the gateway’s own answers', () => {
    expect(
      httpResponseLines('[+1 ms]', 'http.head', Buffer.alloc(0), '200', 'HTTP 200\ncontent-type: text/plain'),
    ).toEqual(['[+1 ms] HTTP 200', '  content-type: text/plain']);
    expect(httpResponseLines('[+2 ms]', 'http.body', Buffer.from('{"email":"***"}'), '', '15 bytes')).toEqual(
      ['[+2 ms] body (15 bytes):', '  {', '    "email": "***"', '  }'],
    );
    const answer = JSON.stringify({ error: 'denied', message: 'gatehouse: denied: no', reasons: ['no'] });
    expect(httpResponseLines('[+0 ms]', 'http.error', Buffer.alloc(0), '403', answer)).toEqual([
      '[+0 ms] gateway answered 403: denied: gatehouse: denied: no',
    ]);
  });

  it('bounds every body excerpt and never prints binary', () => {
    expect(bodyExcerpt(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1]))).toEqual(['  (6 bytes, binary)']);
    const many = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const lines = bodyExcerpt(Buffer.from(many));
    expect(lines).toHaveLength(MAX_BODY_LINES + 1);
    expect(lines.at(-1)).toBe(`  … ${100 - MAX_BODY_LINES} more lines`);
    const long = bodyExcerpt(Buffer.from('x'.repeat(MAX_BODY_CHARS + 10)));
    expect(long).toEqual([`  ${'x'.repeat(MAX_BODY_CHARS)}`, '  … 10 more characters']);
  });
});
