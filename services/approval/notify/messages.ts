import { displayName } from '../model/identity.js';
import type { ApprovalRecord, HistoryEntry } from '../model/types.js';
import { approveUrlOf, isoFromMicros } from '../model/view.js';

const MAX_STATEMENT = 1500;

/** Slack `mrkdwn` control characters become entities, so attacker-controlled text cannot make links or mentions. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The request text inside a code block: escaped, fences broken, cut to a bounded length. */
function codeBlock(text: string): string {
  const cut =
    text.length > MAX_STATEMENT
      ? `${text.slice(0, MAX_STATEMENT)}… (${text.length - MAX_STATEMENT} more characters)`
      : text;
  return '```' + slackEscape(cut).replace(/```/g, "'''") + '```';
}

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return slackEscape(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** The Slack-compatible body announcing a new request. */
export function requestedMessage(record: ApprovalRecord, publicUrl: string): { text: string } {
  const r = record.request;
  const who = `${oneLine(displayName(r.requester))}${r.requester.agent ? ' (AI agent)' : ''}`;
  const lines = [
    `:lock: *Approval needed* from ${oneLine(r.groups.join(', ') || 'nobody')} (${r.approvalsNeeded} approval${r.approvalsNeeded === 1 ? '' : 's'})`,
    `*Who:* ${who}   *Where:* ${oneLine(r.connection.name)} (${oneLine(r.protocol)})`,
    `*Why:* ${oneLine(r.reasons.join('; ') || 'no reason given')}`,
    codeBlock(r.text),
    `Expires ${isoFromMicros(r.expiresMicros)}. Review: ${approveUrlOf(record, publicUrl)}`,
  ];
  return { text: lines.join('\n') };
}

/** The body announcing an outcome (the entry is the winning `decided` history entry). */
export function decidedMessage(
  record: ApprovalRecord,
  entry: HistoryEntry,
  publicUrl: string,
): { text: string } {
  const r = record.request;
  const icon =
    entry.outcome === 'approved'
      ? ':white_check_mark:'
      : entry.outcome === 'rejected'
        ? ':no_entry:'
        : ':hourglass:';
  const by = entry.actor ? ` by ${oneLine(displayName(entry.actor))}` : '';
  const why = entry.reason ? `: ${oneLine(entry.reason)}` : '';
  return {
    text:
      `${icon} *${entry.outcome || 'decided'}*${by}${why}\n` +
      `Request of ${oneLine(displayName(r.requester))} on ${oneLine(r.connection.name)}: ${oneLine(r.text, 200)}\n` +
      approveUrlOf(record, publicUrl),
  };
}
