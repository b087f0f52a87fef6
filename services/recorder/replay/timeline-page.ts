import type { TimelineResponse } from './timeline-entry.js';
import { escapeHtml, htmlTable, inline, layout, sessionPath } from './web-pages.js';

/**
 * The web UI's timeline page (`GET /timeline?identity=…`): one identity's requests across SQL, SSH, MCP and HTTP,
 * oldest first, each linking to its session's transcript. Every recorded value goes through `inline` (control
 * characters shown escaped, then HTML-escaped).
 */
export function renderTimelinePage(t: TimelineResponse): string {
  const rows = t.entries.map((e) => {
    const decision = e.decision === 'approval' && e.approval ? `approval: ${e.approval}` : e.decision || '-';
    const css = e.decision === 'deny' || e.decision === 'refused' ? ` class="${e.decision}"` : '';
    return `<tr>
<td>${inline(e.at)}</td>
<td>${inline(e.protocol)}</td>
<td>${inline(e.connection)}</td>
<td><a href="${escapeHtml(sessionPath(e.sessionId))}">${inline(e.sessionId.slice(0, 8))}</a> #${e.requestId}</td>
<td>${inline(e.requestKind)}</td>
<td${css}>${inline(decision)}</td>
<td class="request">${inline(e.text)}</td>
<td>${inline(e.reasons.join('; '))}</td>
</tr>`;
  });
  const table = htmlTable(
    'sessions timeline',
    ['time', 'protocol', 'connection', 'session', 'kind', 'decision', 'request', 'reasons'],
    rows,
    '<p>No requests in this window.</p>',
  );
  const more = t.truncated ? '\n<p class="warn">More requests matched than are shown.</p>' : '';
  return layout(
    `Timeline ${t.identity}`,
    `<h1>Timeline of <code>${inline(t.identity)}</code></h1>
<p>${inline(t.from)} to ${inline(t.to)}: every request across SQL, SSH, MCP and HTTP, oldest first.</p>
${table}${more}`,
  );
}
