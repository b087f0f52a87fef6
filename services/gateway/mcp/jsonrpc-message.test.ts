import { describe, expect, it } from 'vitest';
import { parseMcpBody, routingName, RpcCode } from './jsonrpc-message.js';
import { routingHeaderProblem } from './routing-headers.js';

describe('parseMcpBody', () => {
  it('classifies requests, notifications and responses', () => {
    expect(parseMcpBody('{"jsonrpc":"2.0","id":1,"method":"tools/list"}')).toMatchObject({
      ok: true,
      message: { type: 'request', id: 1, method: 'tools/list' },
    });
    expect(parseMcpBody('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toMatchObject({
      ok: true,
      message: { type: 'notification' },
    });
    expect(parseMcpBody('{"jsonrpc":"2.0","id":"s1","result":{}}')).toMatchObject({
      ok: true,
      message: { type: 'response', id: 's1' },
    });
  });

  it.each([
    ['{', 400, RpcCode.parseError, null],
    ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', 400, RpcCode.invalidRequest, null],
    ['"ping"', 400, RpcCode.invalidRequest, null],
    ['{"jsonrpc":"1.0","id":4,"method":"ping"}', 400, RpcCode.invalidRequest, 4],
    ['{"jsonrpc":"2.0","id":5,"method":""}', 400, RpcCode.invalidRequest, 5],
    ['{"jsonrpc":"2.0","id":6,"method":"tools/call","params":[1]}', 400, RpcCode.invalidRequest, 6],
    ['{"jsonrpc":"2.0","id":null,"method":"ping"}', 400, RpcCode.invalidRequest, null],
    ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', 400, RpcCode.invalidRequest, null],
    ['{"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1}}', 400, RpcCode.invalidRequest, 7],
    ['{"jsonrpc":"2.0"}', 400, RpcCode.invalidRequest, null],
  ])('refuses %s', (body, status, code, id) => {
    expect(parseMcpBody(body)).toEqual({
      ok: false,
      failure: expect.objectContaining({ httpStatus: status, code, id }) as unknown,
    });
  });

  it('names the routing field per method', () => {
    expect(routingName('tools/call', { name: 't' })).toBe('t');
    expect(routingName('resources/read', { uri: 'file:///x' })).toBe('file:///x');
    expect(routingName('tools/list', {})).toBeUndefined();
  });
});

describe('routingHeaderProblem', () => {
  const call = parseMcpBody(
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_customer"}}',
  );
  if (!call.ok) throw new Error('fixture');
  const m = call.message;
  it('accepts matching headers, and their absence before 2026-07-28', () => {
    expect(routingHeaderProblem(m, { method: 'tools/call', name: 'delete_customer' }, true)).toBeUndefined();
    expect(routingHeaderProblem(m, { method: undefined, name: undefined }, false)).toBeUndefined();
  });
  it('accepts a base64-encoded Mcp-Name', () => {
    const b64 = `=?base64?${Buffer.from('delete_customer').toString('base64')}?=`;
    expect(routingHeaderProblem(m, { method: 'tools/call', name: b64 }, true)).toBeUndefined();
  });
  it('refuses mismatches and missing headers on 2026-07-28', () => {
    expect(routingHeaderProblem(m, { method: 'tools/list', name: undefined }, false)).toMatch(/Mcp-Method/);
    expect(routingHeaderProblem(m, { method: 'tools/call', name: 'list_customers' }, false)).toMatch(
      /Mcp-Name/,
    );
    expect(routingHeaderProblem(m, { method: undefined, name: undefined }, true)).toMatch(/required/);
    expect(routingHeaderProblem(m, { method: 'tools/call', name: undefined }, true)).toMatch(
      /Mcp-Name header is required/,
    );
  });
});
