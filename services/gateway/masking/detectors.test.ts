import { describe, expect, it } from 'vitest';
import { UnknownDetectorError } from './errors.js';
import { findSensitive, maskBytes, maskText } from './mask-content.js';
import { DETECTORS, detectorsFor, resolveDetectors } from './registry.js';

const ALL = resolveDetectors(['all']);

/** The texts `name` finds in `text`. */
function found(name: string, text: string): string[] {
  const buf = Buffer.from(text);
  return findSensitive(buf, resolveDetectors([name])).map((s) => buf.toString('utf8', s.start, s.end));
}

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('detectors: true positives and near misses', () => {
  it('email', () => {
    expect(found('email', 'write to John.Doe+tag@mail.example.co.uk today')).toEqual([
      'John.Doe+tag@mail.example.co.uk',
    ]);
    expect(found('email', '<a@b.io>, "c_d@e-f.org"; j@ex.com.')).toEqual([
      'a@b.io',
      'c_d@e-f.org',
      'j@ex.com',
    ]);
    expect(found('email', 'préféré: ünï@example.com')).toEqual(['ünï@example.com']);
    expect(found('email', 'x'.repeat(70) + '@example.com')).toEqual(['x'.repeat(64) + '@example.com']);
    expect(found('email', 'é'.repeat(40) + '@example.com')).toEqual(['é'.repeat(32) + '@example.com']);
    expect(found('email', 'a@b.co.4111 a@c.io-x9 mail.me@my-company.example.com')).toEqual([
      'a@b.co',
      'a@c.io',
      'mail.me@my-company.example.com',
    ]);
    expect(found('email', 'a@b.c @handle x@localhost a@-b.com a@b-.com a@b..com a@1.23 user@')).toEqual([]);
  });

  it('payment_card: Luhn-valid 13–19 digits in plausible groups', () => {
    expect(found('card', 'visa 4111 1111 1111 1111 exp 12/27')).toEqual(['4111 1111 1111 1111']);
    expect(found('card', '4111-1111-1111-1111;5555555555554444,378282246310005')).toEqual([
      '4111-1111-1111-1111',
      '5555555555554444',
      '378282246310005',
    ]);
    expect(found('card', 'amex 3782 822463 10005.')).toEqual(['3782 822463 10005']);
    expect(found('card', '4111111111111111 12/27')).toEqual(['4111111111111111']);
    // Several numbers in one run of digit groups, and a number starting after other groups.
    expect(found('card', '4111111111111111 5555555555554444')).toEqual([
      '4111111111111111',
      '5555555555554444',
    ]);
    expect(found('card', '4111 1111 1111 1111-4111 1111 1111 1111')).toEqual([
      '4111 1111 1111 1111',
      '4111 1111 1111 1111',
    ]);
    expect(found('card', 'ref 1 4111 1111 1111 1111')).toEqual(['4111 1111 1111 1111']);
    expect(found('card', 'qty 12 4111111111111111')).toEqual(['4111111111111111']);
    // near misses: Luhn failure, wrong first digit, too long, glued, odd grouping
    expect(found('card', '4111 1111 1111 1112')).toEqual([]);
    expect(found('card', '1111111111111117 7111111111111111 9111111111111111')).toEqual([]);
    expect(found('card', '41111111111111111111111')).toEqual([]);
    expect(found('card', 'id4111111111111111 4111111111111111x')).toEqual([]);
    expect(found('card', '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1')).toEqual([]);
    expect(found('card', 'order 2024-01-15 10:00 #123456789012')).toEqual([]);
  });

  it('us_ssn: valid areas only, not part of longer numbers', () => {
    expect(found('us_ssn', 'ssn: 123-45-6789.')).toEqual(['123-45-6789']);
    expect(found('us_ssn', '078-05-1120,899-99-9999')).toEqual(['078-05-1120', '899-99-9999']);
    expect(found('us_ssn', '000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000')).toEqual([]);
    expect(found('us_ssn', '1123-45-6789 123-45-67890 a123-45-6789 123-45-6789-1 2024-01-15')).toEqual([]);
  });

  it('uk_nino', () => {
    expect(found('uk_nino', 'NI: AB123456C / AB 12 34 56 D')).toEqual(['AB123456C', 'AB 12 34 56 D']);
    expect(found('uk_nino', 'QQ123456C DA123456A AO123456A BG123456A ZZ123456A')).toEqual([]);
    expect(found('uk_nino', 'ab123456c AB123456E AB12345C XAB123456C AB123456CX')).toEqual([]);
  });

  it('national_id groups us_ssn and uk_nino', () => {
    expect(found('national_id', '123-45-6789 AB123456C')).toEqual(['123-45-6789', 'AB123456C']);
  });

  it('aws_access_key', () => {
    expect(found('aws_access_key', 'key=AKIAIOSFODNN7EXAMPLE;tmp ASIAY34FZKBOKMUTVV7A')).toEqual([
      'AKIAIOSFODNN7EXAMPLE',
      'ASIAY34FZKBOKMUTVV7A',
    ]);
    expect(
      found(
        'aws_access_key',
        'AKIAIOSFODNN7EXAMPL xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX akiaiosfodnn7example',
      ),
    ).toEqual([]);
  });

  it('github_token', () => {
    const classic = 'ghp_' + 'A1b2C3d4E5'.repeat(3) + 'f6G7h8';
    const pat = 'github_pat_11ABCDEFG0' + 'x'.repeat(72);
    expect(found('github_token', `token ${classic} and ${pat}`)).toEqual([classic, pat]);
    expect(found('github_token', 'ghp_short gho_' + 'a'.repeat(20) + ' xghp_' + 'a'.repeat(36))).toEqual([]);
  });

  it('slack_token', () => {
    expect(found('slack_token', 'xoxb-1234567890-0987654321-AbCdEfGhIj xapp-1-A0123-456-abc')).toEqual([
      'xoxb-1234567890-0987654321-AbCdEfGhIj',
      'xapp-1-A0123-456-abc',
    ]);
    expect(found('slack_token', 'xoxz-1234567890 xoxb-123 boxoxb-1234567890123')).toEqual([]);
  });

  it('stripe_key', () => {
    const live = 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc';
    expect(found('stripe_key', `STRIPE=${live} rk_test_abcdefghijklmnop1234`)).toEqual([
      live,
      'rk_test_abcdefghijklmnop1234',
    ]);
    expect(
      found('stripe_key', 'sk_live_short xsk_live_abcdefghijklmnop1234 sk_live_abcdefghijklmnop1234_x'),
    ).toEqual([]);
  });

  it('bearer_token keeps the word Bearer', () => {
    expect(found('bearer_token', 'Authorization: Bearer abc.DEF-ghi_jkl~mn+op/qr==')).toEqual([
      'abc.DEF-ghi_jkl~mn+op/qr==',
    ]);
    expect(maskText('Authorization: bearer  0123456789abcdef', resolveDetectors(['bearer_token']))).toBe(
      'Authorization: bearer  REDACTED_TOKEN',
    );
    expect(found('bearer_token', 'Bearer short, unbearable Bearer tokens')).toEqual([]);
  });

  it('jwt', () => {
    expect(found('jwt', `id_token=${JWT}&x=1`)).toEqual([JWT]);
    expect(found('jwt', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.')).toEqual([
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.',
    ]);
    expect(
      found(
        'jwt',
        'eyJhbGciOiJIUzI1NiJ9 alone; eyJhbGciOiJIUzI1NiJ9.abcdefghijk.sig; xeyJabcdefghijk.eyJabcdefghijk.s',
      ),
    ).toEqual([]);
  });

  it('private_key', () => {
    const pem =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----';
    expect(found('private_key', `key:\n${pem}\nafter`)).toEqual([pem]);
    const openssh =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(found('private_key', openssh)).toEqual([openssh]);
    // Truncated inside JSON: stops before the closing quote and never strands a backslash.
    const json = '{"k":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADAN\\nBgkq","n":1}';
    expect(maskText(json, resolveDetectors(['private_key']))).toBe('{"k":"REDACTED_PRIVATE_KEY","n":1}');
    expect(found('private_key', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')).toEqual([]);
    expect(found('private_key', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----')).toEqual([]);
  });
});

describe('masking content', () => {
  it('replaces matches with fixed tokens and returns the same object when clean', () => {
    const clean = Buffer.from('nothing to see here: 42, 2024-01-15, id 1234567');
    expect(maskBytes(clean, ALL)).toBe(clean);
    const text = 'plain text';
    expect(maskText(text, ALL)).toBe(text);
    expect(maskText('mail a@example.com, card 4111111111111111, ssn 123-45-6789', ALL)).toBe(
      'mail ***@***, card ****-****-****-****, ssn ***-**-****',
    );
  });

  it('merges overlapping matches into one replacement', () => {
    expect(maskText(`Authorization: Bearer ${JWT}`, ALL)).toBe('Authorization: Bearer REDACTED_TOKEN');
  });

  it('keeps multi-byte text around matches intact', () => {
    expect(maskText('Grüße: ännä@example.de und bob@example.de — 👋', ALL)).toBe(
      'Grüße: ***@*** und ***@*** — 👋',
    );
    expect(maskText('€ 4111111111111111 €', ALL)).toBe('€ ****-****-****-**** €');
  });

  it('resolves names and groups, and fails closed on unknown names', () => {
    expect(resolveDetectors(['card', 'email', 'national_id', 'secret']).map((d) => d.name)).toEqual([
      'email',
      'payment_card',
      'us_ssn',
      'uk_nino',
      'aws_access_key',
      'github_token',
      'slack_token',
      'stripe_key',
      'bearer_token',
      'jwt',
      'private_key',
    ]);
    expect(detectorsFor(['EMAIL', 'email'])).toHaveLength(1);
    expect(resolveDetectors([])).toEqual([]);
    expect(() => resolveDetectors(['email', 'credit_cards'])).toThrow(UnknownDetectorError);
    try {
      resolveDetectors(['nope']);
    } catch (err) {
      expect((err as UnknownDetectorError).code).toBe('GH_ERR_MASK_UNKNOWN_DETECTOR');
    }
  });

  it('replacement tokens are safe inside JSON strings, array and composite literals, TSV and CSV', () => {
    for (const d of DETECTORS.values()) expect(d.replacement.toString()).toMatch(/^[A-Za-z0-9*@_-]+$/);
  });

  it('stays linear on adversarial input (1 MiB each, far below a quadratic blow-up)', () => {
    const patterns = [
      '@',
      'a@',
      'a@b.',
      '4 ',
      '4',
      '1-',
      '123-45-',
      'eyJ',
      'eyJabcdefgh.',
      '-----BEGIN ',
      '-----BEGIN RSA PRIVATE KEY-----',
      'AKIA',
      'ghp_',
      'xoxb-',
      'Bearer ',
      'AB12',
      'lorem ipsum ',
    ];
    for (const p of patterns) {
      const buf = Buffer.from(p.repeat(Math.ceil((1 << 20) / p.length)));
      const t0 = performance.now();
      maskBytes(buf, ALL);
      expect(performance.now() - t0).toBeLessThan(3000);
    }
  });
});
