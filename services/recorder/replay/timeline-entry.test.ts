import { describe, expect, it } from 'vitest';
import { MAX_TIMELINE_TEXT, timelineText } from './timeline-entry.js';

describe('timelineText', () => {
  it('puts every protocol’s request on one safe line', () => {
    expect(timelineText('sql', 'select 1\n  from t')).toBe('select 1 from t');
    expect(timelineText('ssh.exec', 'printf "\u001b[2J"')).toBe('printf "\\e[2J"');
    expect(timelineText('ssh.shell', '')).toBe('(interactive shell)');
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { arguments: { name: 'innocent' }, name: 'delete_customer' },
    });
    // The tool is read with a JSON parser: an argument named `name` cannot pose as the tool.
    expect(timelineText('mcp.tools/call', call)).toBe('tools/call delete_customer {"name":"innocent"}');
    expect(timelineText('mcp.tools/call', call.slice(0, 20), false)).toBe(call.slice(0, 20));
    expect(timelineText('http.POST', 'POST /upload\n\n{"a":\n1}')).toBe('POST /upload body: {"a": 1}');
    expect(timelineText('login', '', true, 'token_expired')).toBe('login refused: token_expired');
  });

  it('is bounded', () => {
    const text = timelineText('sql', `select '${'x'.repeat(5000)}'`);
    expect(text).toHaveLength(MAX_TIMELINE_TEXT);
    expect(text.endsWith('…')).toBe(true);
  });
});
