import type { SettingChange, SqlStatementAnalysis } from '../sql/index.js';
import { PINNED_SETTINGS } from './startup-params.js';

/*
 * Settings the gateway's parser and codecs depend on can never change during a session, for any identity and
 * whatever the policy says: SET/SET LOCAL/set_config()/function SET clauses/ALTER ROLE|DATABASE|SYSTEM … SET to any
 * other value are refused with 42501 and the reason. RESET and SET … TO DEFAULT are harmless (the pinned values are
 * the session's reset values: the gateway sends them in the upstream StartupMessage). A change whose name the
 * gateway cannot see (set_config with a computed name, an UPDATE of pg_settings) is refused as well.
 */

const TRUE_WORDS = new Set(['on', 'true', 'yes', '1', 't', 'y']);

function sameValue(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  switch (name) {
    case 'client_encoding':
      return ['utf8', 'unicode'].includes(v.replace(/[-_]/g, ''));
    case 'standard_conforming_strings':
      return TRUE_WORDS.has(v);
    default:
      return v === PINNED_SETTINGS[name];
  }
}

function violation(s: SettingChange): string | null {
  if (s.name === null) {
    return s.action === 'set'
      ? 'a setting whose name cannot be seen (set_config with a computed name, or a write to pg_settings) cannot be changed through gatehouse'
      : null;
  }
  const pinned = PINNED_SETTINGS[s.name];
  if (pinned === undefined || s.action !== 'set') return null;
  if (s.value !== null && sameValue(s.name, s.value)) return null;
  return `parameter "${s.name}" is pinned to "${pinned}" by gatehouse (it changes how SQL is read or results are encoded) and cannot be changed`;
}

/** Reasons to refuse `statements` whatever the policy says; empty when none. */
export function pinnedViolations(statements: readonly SqlStatementAnalysis[]): string[] {
  const out = new Set<string>();
  for (const st of statements) {
    for (const s of st.settings) {
      const v = violation(s);
      if (v !== null) out.add(v);
    }
  }
  return [...out];
}

/**
 * A ParameterStatus from the server for a pinned setting with another value (only client_encoding and
 * standard_conforming_strings are reported by PostgreSQL): opaque code changed it behind the gateway's back. Returns
 * the reason to end the session, or null.
 */
export function pinnedStatusChange(payload: Buffer): string | null {
  const nul = payload.indexOf(0);
  if (nul < 0) return null;
  const name = payload.toString('utf8', 0, nul).toLowerCase();
  if (PINNED_SETTINGS[name] === undefined) return null;
  const end = payload.indexOf(0, nul + 1);
  const value = payload.toString('utf8', nul + 1, end < 0 ? payload.length : end);
  return sameValue(name, value)
    ? null
    : `the server reports ${name}=${value}, but gatehouse parses SQL with ${name}=${PINNED_SETTINGS[name]}`;
}
