import { describe, expect, it } from 'vitest';
import { toClickHouseError } from './client.js';

describe('toClickHouseError', () => {
  it('keeps the code and the first clause of an 18.16 error, never the echoed query', () => {
    const e = toClickHouseError(
      new Error(
        "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1: SELECT 'secret-value', e.what() = DB::Exception",
      ),
    );
    expect(e.message).toBe('ClickHouse error 62: Syntax error');
    expect(e.serverCode).toBe(62);
    expect(e.retriable).toBe(false);
    expect(JSON.stringify(e)).not.toContain('secret');
  });

  it('parses current-release errors and marks overload as retriable', () => {
    const e = toClickHouseError(
      new Error('Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS) (version 24.8.1.1)'),
    );
    expect(e.message).toBe('ClickHouse error 252: Too many parts');
    expect(e.retriable).toBe(true);
    const missing = toClickHouseError(
      new Error("Code: 60. DB::Exception: Table gatehouse.events doesn't exist. (UNKNOWN_TABLE)"),
    );
    expect(missing.message).toBe("ClickHouse error 60: Table gatehouse.events doesn't exist.");
  });

  it('treats network failures as retriable', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18123'), { code: 'ECONNREFUSED' });
    const e = toClickHouseError(err);
    expect(e.retriable).toBe(true);
    expect(e.serverCode).toBeUndefined();
    expect(e.message).toContain('ECONNREFUSED');
  });
});
