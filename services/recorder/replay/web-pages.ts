import type { SessionSummary } from './recorded-event.js';
import { safeBlock, safeInline } from './safe-text.js';

/**
 * The replay web UI's HTML, rendered on the server. Every recorded value is attacker-controlled: it goes through
 * `escapeHtml` (text and quoted attributes alike) after `safeInline`/`safeBlock` (control characters shown
 * escaped). Pages carry no inline script or style (the CSP forbids them); behaviour is in `/ui/session.js`.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** One-line recorded text, safe for HTML. */
export const inline = (text: string): string => escapeHtml(safeInline(text));

export function sessionPath(sessionId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}`;
}

/** A whole page around `body` (already safe HTML). */
export function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} · Gatehouse replay</title>
<link rel="stylesheet" href="/ui/style.css">
${head}</head>
<body>
<header><a href="/">Gatehouse replay</a></header>
<main>
${body}
</main>
</body>
</html>
`;
}

function who(s: SessionSummary): string {
  return s.identity.email || s.identity.sub || '(unknown)';
}

/** A table of `rows` (each a safe `<tr>…</tr>`), or `empty` when there are none. */
export function htmlTable(
  className: string,
  headers: readonly string[],
  rows: readonly string[],
  empty: string,
): string {
  if (rows.length === 0) return empty;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<table class="${escapeHtml(className)}">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/** The identity of a session, linking to its timeline across protocols. */
function identityLink(s: SessionSummary): string {
  const id = s.identity.sub || s.identity.email;
  if (!id) return inline(who(s));
  return `<a href="${escapeHtml(timelinePath(id))}">${inline(who(s))}</a>`;
}

export function timelinePath(identity: string): string {
  return `/timeline?identity=${encodeURIComponent(identity)}`;
}

export function renderSessionList(sessions: readonly SessionSummary[]): string {
  const rows = sessions.map(
    (s) => `<tr>
<td><a href="${escapeHtml(sessionPath(s.sessionId))}">${inline(s.sessionId)}</a></td>
<td>${inline(s.startedAt)}</td>
<td>${identityLink(s)}${s.identity.agent ? ' <span class="tag">agent</span>' : ''}</td>
<td>${inline(s.connection)}</td>
<td>${inline(s.protocol)}</td>
<td class="num">${s.requests}</td>
<td class="num">${s.denied}</td>
<td>${s.closed ? inline(s.closeReason || 'closed') : '<span class="tag">open</span>'}</td>
</tr>`,
  );
  const table = htmlTable(
    'sessions',
    ['session', 'started', 'identity', 'connection', 'protocol', 'requests', 'denied', 'state'],
    rows,
    '<p>No recorded sessions yet.</p>',
  );
  return layout('Sessions', `<h1>Recent sessions</h1>\n${table}`);
}

export type SessionPageInput = {
  sessionId: string;
  summary: SessionSummary | undefined;
  /** The text transcript (transcript.ts). */
  transcript: string;
  /** Set when the session has terminal output to play. */
  player?: { castUrl: string; cols: number; rows: number };
  truncated: boolean;
};

function details(s: SessionSummary): string {
  const fields: [string, string][] = [
    ['identity', `${who(s)}${s.identity.agent ? ' (agent)' : ''}`],
    ['groups', s.identity.groups.join(', ')],
    ['connection', `${s.connection} (${s.protocol})`],
    ['client', s.clientAddr],
    ['node', s.nodeId],
    ['started', s.startedAt],
    ['ended', s.closed ? `${s.endedAt} (${s.closeReason})` : 'still open'],
    ['requests', `${s.requests} (${s.allowed} allowed, ${s.denied} denied, ${s.approvals} approvals)`],
  ];
  return `<dl class="summary">\n${fields.map(([k, v]) => `<dt>${k}</dt><dd>${inline(v)}</dd>`).join('\n')}\n</dl>`;
}

export function renderSessionPage(p: SessionPageInput): string {
  const parts = [`<h1>Session <code>${inline(p.sessionId)}</code></h1>`];
  if (p.summary) parts.push(details(p.summary));
  if (p.player) {
    parts.push(`<h2>Terminal recording</h2>
<div id="player" class="player" data-src="${escapeHtml(p.player.castUrl)}" data-cols="${p.player.cols}" data-rows="${p.player.rows}"></div>
<p class="links"><a href="${escapeHtml(p.player.castUrl)}" download="${escapeHtml(`${safeFileName(p.sessionId)}.cast`)}">Download .cast</a></p>`);
  }
  if (p.truncated) parts.push('<p class="warn">The recording is truncated (too many events).</p>');
  parts.push(`<h2>Transcript</h2>\n<pre class="transcript">${escapeHtml(safeBlock(p.transcript))}</pre>`);
  const head = p.player
    ? '<link rel="stylesheet" href="/ui/asciinema-player.css">\n<script src="/ui/asciinema-player.min.js" defer></script>\n<script src="/ui/session.js" defer></script>\n'
    : '';
  return layout(`Session ${safeInline(p.sessionId)}`, parts.join('\n'), head);
}

export function renderNotFound(sessionId: string): string {
  return layout(
    'Not found',
    `<h1>No recorded session</h1>\n<p>There is no recorded session <code>${inline(sessionId)}</code>.</p>`,
  );
}

function safeFileName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'session';
}

/** The session page's behaviour: start asciinema-player on `#player`. Served as `/ui/session.js`. */
export const SESSION_JS = `'use strict';
(function () {
  var el = document.getElementById('player');
  if (!el || !window.AsciinemaPlayer) return;
  var cols = Number(el.getAttribute('data-cols')) || 80;
  var rows = Number(el.getAttribute('data-rows')) || 24;
  window.gatehousePlayer = window.AsciinemaPlayer.create(el.getAttribute('data-src'), el, {
    cols: cols,
    rows: rows,
    preload: true,
    idleTimeLimit: 2,
    fit: 'width',
    terminalFontSize: '14px'
  });
})();
`;

export const STYLE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d1f21; background: #fafafa; }
header { background: #1d1f21; padding: 10px 20px; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { padding: 10px 20px 40px; max-width: 1200px; }
table.sessions { border-collapse: collapse; width: 100%; }
table.sessions th, table.sessions td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
table.sessions td.request { font-family: monospace; word-break: break-all; }
.deny, .refused { color: #a00; }
td.num { text-align: right; }
.tag { font-size: 11px; background: #e0e0e0; border-radius: 3px; padding: 0 4px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.summary dt { color: #666; }
dl.summary dd { margin: 0; }
pre.transcript { background: #fff; border: 1px solid #ddd; padding: 10px; overflow: auto; white-space: pre; }
.player { max-width: 1000px; }
.warn { color: #a00; }
`;
