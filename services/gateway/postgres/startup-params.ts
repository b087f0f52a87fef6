import type { ErrorCode } from '../../shared/errors.js';
import { PgClientError } from './errors.js';

/*
 * The client's StartupMessage parameters, vetted. The gateway owns every setting that changes how SQL is lexed or
 * how results are encoded, so nothing a client sends at login reaches the server unless it is on this list:
 *
 * | parameter                          | treatment                                                              |
 * |------------------------------------|------------------------------------------------------------------------|
 * | user, database                     | consumed by the gateway (identity comes from the token; `database` names the connection) |
 * | application_name                   | forwarded                                                              |
 * | client_encoding                    | UTF8 (also `utf-8`, `unicode`, any case) accepted; anything else refused (22023) |
 * | DateStyle, IntervalStyle, TimeZone, extra_float_digits | forwarded: they change how values print, never how SQL is read |
 * | options                            | refused (42501) unless empty: it carries arbitrary `-c name=value` settings |
 * | replication                        | refused (42501) unless false/off/no/0 (then dropped): it starts a walsender |
 * | `_pq_.*` protocol options          | refused (08P01)                                                        |
 * | anything else (any other setting)  | refused (42501), e.g. search_path (JDBC `currentSchema`), standard_conforming_strings |
 *
 * Setting names are matched case-insensitively, as the server does. Upstream, the gateway then pins the settings it
 * parses by (PINNED_SETTINGS): they are sent in the upstream StartupMessage, which also makes them the session's
 * RESET values and overrides ALTER ROLE/DATABASE defaults.
 */

/** Settings the gateway's SQL parser and codecs depend on, with the value they always have upstream. */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  client_encoding: 'UTF8',
  standard_conforming_strings: 'on',
  backslash_quote: 'safe_encoding',
  bytea_output: 'hex',
});

/** Forwarded as sent (keyed by their lower-case name; the value is the server's spelling of the name). */
const FORWARDED: Readonly<Record<string, string>> = {
  application_name: 'application_name',
  datestyle: 'DateStyle',
  intervalstyle: 'IntervalStyle',
  timezone: 'TimeZone',
  extra_float_digits: 'extra_float_digits',
};

const UTF8_NAMES = new Set(['utf8', 'utf-8', 'unicode']);
const FALSE_WORDS = new Set(['false', 'off', 'no', '0']);

export type VettedStartup = {
  /** What the gateway sends upstream (besides user and database): forwarded parameters plus the pinned settings. */
  readonly upstream: Readonly<Record<string, string>>;
  /** Parameter names dropped without an error (empty `options`, `replication=false`). */
  readonly dropped: readonly string[];
};

function refuse(code: ErrorCode, sqlstate: string, message: string): never {
  throw new PgClientError(code, sqlstate, message, { severity: 'FATAL' });
}

/** Vets the StartupMessage parameters; throws a FATAL `PgClientError` that names the first refused one. */
export function vetStartupParameters(parameters: Readonly<Record<string, string>>): VettedStartup {
  const upstream: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(parameters)) {
    const key = name.toLowerCase();
    if (name === 'user' || name === 'database') continue;
    if (key.startsWith('_pq_.')) {
      refuse(
        'GH_ERR_PG_STARTUP_PARAMETER',
        '08P01',
        `protocol option "${name}" is not supported by gatehouse`,
      );
    }
    if (key === 'client_encoding') {
      if (!UTF8_NAMES.has(value.trim().toLowerCase())) {
        refuse(
          'GH_ERR_PG_CLIENT_ENCODING',
          '22023',
          `client_encoding "${value}" is not supported by gatehouse: connect with client_encoding UTF8`,
        );
      }
      continue; // pinned below
    }
    if (name === 'options' && value.trim() === '') {
      dropped.push(name);
      continue;
    }
    if (name === 'replication' && FALSE_WORDS.has(value.trim().toLowerCase())) {
      dropped.push(name);
      continue;
    }
    const forwarded = FORWARDED[key];
    if (forwarded === undefined) {
      const why =
        name === 'options'
          ? ' (it carries -c settings; gatehouse owns the session settings)'
          : name === 'replication'
            ? ' (replication connections are not proxied)'
            : '';
      refuse(
        'GH_ERR_PG_STARTUP_PARAMETER',
        '42501',
        `startup parameter "${name}" is not allowed by gatehouse${why}`,
      );
    }
    upstream[forwarded] = value;
  }
  return { upstream: { ...upstream, ...PINNED_SETTINGS }, dropped };
}
