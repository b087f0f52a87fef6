import { expect } from 'vitest';
import type { RunningIdp } from '../../dev/idp/index.js';
import type { Event } from '../../services/shared/events/codec.js';
import type { EventCollector } from './event-collector.js';

/** The event bodies of one case (`request`, `decision`, `response`, …) in order. */
export const bodies = <C extends NonNullable<Event['body']['case']>>(evs: readonly Event[], c: C) =>
  evs.flatMap((e) =>
    e.body.case === c ? [e.body.value as Extract<Event['body'], { case: C }>['value']] : [],
  );

/** The `response` events of one frame (`http.head`, `http.body`, `http.error`, …). */
export const responses = (evs: readonly Event[], frame: string) =>
  bodies(evs, 'response').filter((r) => r.frame === frame);

/**
 * The callers of one test file: tokens from the test IdP for users unique to this run, and their recorded events.
 * `idp` and `events` are read when used (the fixture starts in `beforeAll`).
 */
export type GatewayCallers = {
  /** Every token issued, to check none reached the upstream or the audit log. */
  readonly tokens: readonly string[];
  readonly token: (name: string, opts?: { agent?: boolean; groups?: string[] }) => Promise<string>;
  /** The events of `name`'s sessions once `done` holds for them. */
  readonly recorded: (name: string, done: (evs: Event[]) => boolean) => Promise<Event[]>;
  /** The `sub` of `name` in this run. */
  readonly sub: (name: string) => string;
};

export function gatewayCallers(idp: () => RunningIdp, events: () => EventCollector): GatewayCallers {
  const run = Math.random().toString(36).slice(2, 8);
  const tokens: string[] = [];
  const sub = (name: string) => `${name}-${run}`;
  return {
    tokens,
    sub,
    async token(name, opts = {}) {
      const t = await idp().issueToken({
        user: sub(name),
        agent: opts.agent ?? false,
        groups: opts.groups ?? (opts.agent ? ['agents'] : ['engineering']),
      });
      tokens.push(t);
      return t;
    },
    recorded(name, done) {
      return events().waitFor((records) => {
        const evs = records.map((r) => r.event).filter((e) => e.identity?.sub === sub(name));
        return done(evs) ? evs : undefined;
      });
    },
  };
}

/** Asserts that none of `secrets` (for a JWT, nor its signature alone) appears in `where`. */
export function expectAbsent(where: string, secrets: readonly string[]): void {
  for (const s of secrets) {
    expect(where.includes(s)).toBe(false);
    const jwt = s.split('.');
    if (jwt.length === 3 && jwt[2]!.length >= 16) expect(where.includes(jwt[2]!)).toBe(false);
  }
}

/** The raw bytes of every collected record, as one string to search. */
export const rawEvents = (events: EventCollector | undefined): string =>
  events ? events.records.map((r) => r.raw.toString('latin1')).join('\n') : '';
