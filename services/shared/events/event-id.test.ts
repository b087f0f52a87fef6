import { describe, expect, it } from 'vitest';
import { eventId } from './event-id.js';

describe('eventId', () => {
  it('gives version-4 UUIDs, distinct across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = eventId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5_000);
  });
});
