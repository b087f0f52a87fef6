import { describe, expect, it } from 'vitest';
import { mcpRequestLines, mcpResponseLines } from './mcp-lines.js';

describe('MCP transcript lines', () => {
  it('shows a tool call as method, tool and arguments', () => {
    const text = JSON.stringify({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'delete_customer', arguments: { id: 3 } },
    });
    expect(mcpRequestLines(text)).toEqual(['> tools/call delete_customer {"id":3}']);
    expect(mcpRequestLines('{"jsonrpc":"2.0",')).toEqual(['> {"jsonrpc":"2.0",']);
  });

  it('shows results pretty-printed and errors with their code', () => {
    const result = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [] } }));
    expect(mcpResponseLines('[0.1s]', 'mcp.result', result, '', '2 value(s) masked')).toEqual([
      '[0.1s] result (2 value(s) masked):',
      '  {',
      '    "content": []',
      '  }',
    ]);
    const error = Buffer.from(
      JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32003, message: 'denied' } }),
    );
    expect(mcpResponseLines('[0s]', 'mcp.error', error, '-32003', '')).toEqual(['[0s] ERROR -32003: denied']);
  });
});
