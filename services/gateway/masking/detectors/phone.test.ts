import { describe, expect, it } from 'vitest';
import { findSensitive } from '../mask-content.js';
import { resolveDetectors } from '../registry.js';

function found(text: string): string[] {
  const buf = Buffer.from(text);
  return findSensitive(buf, resolveDetectors(['phone'])).map((s) => buf.toString('utf8', s.start, s.end));
}

describe('phone detector', () => {
  it.each([
    ['call (555) 123-4567 now', '(555) 123-4567'],
    ['555-123-4567', '555-123-4567'],
    ['tel: 555.123.4567.', '555.123.4567'],
    ['1-555-010-1234'.replace('010', '210'), '1-555-210-1234'],
    ['+1 555 123 4567', '+1 555 123 4567'],
    ['+44 20 7946 0958', '+44 20 7946 0958'],
    ['UK 020 7946 0958', '020 7946 0958'],
    ['mobile 07700 900123', '07700 900123'],
    ['+49 (0)30 1234567', '+49 (0)30 1234567'],
    ['DE 030 1234567', '030 1234567'],
    ['0151/23456789', '0151/23456789'],
    ['(030) 123 4567', '(030) 123 4567'],
    ['+4915123456789', '+4915123456789'],
  ])('finds %s', (text, phone) => {
    expect(found(text)).toEqual([phone]);
  });

  it.each([
    'date 01.02.2024 12:30',
    '2024-01-15',
    'ssn 123-45-6789',
    'card 4111 1111 1111 1111',
    'id 5551234567',
    'version 10.2.3.4',
    'ip 192.168.100.200',
    'x555-123-4567',
    '555-123-45678',
    'order 12345 of 2024',
    '+0 123 456 789',
  ])('ignores %s', (text) => {
    expect(found(text)).toEqual([]);
  });

  it('finds several and stays bounded on long digit runs', () => {
    expect(found('a: 555-123-4567, b: +44 20 7946 0958')).toEqual(['555-123-4567', '+44 20 7946 0958']);
    const long = '1 '.repeat(50_000);
    const t = Date.now();
    found(long);
    expect(Date.now() - t).toBeLessThan(2_000);
  });
});
