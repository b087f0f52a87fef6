import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../model/types.js';
import { decidedMessage, requestedMessage, slackEscape } from './messages.js';

const alice = {
  sub: 'alice',
  email: 'alice@example.test',
  groups: ['dev'],
  agent: true,
  issuer: 'i',
  client_id: 'c',
};
const bob = { sub: 'bob', email: '', groups: ['dba'], agent: false, issuer: 'i', client_id: 'c' };

function record(text: string): ApprovalRecord {
  return {
    request: {
      id: 'a1',
      sessionId: 's1',
      nodeId: 'gw-1',
      requestId: 1,
      requester: alice,
      connection: { name: 'demo-pg', protocol: 'postgres', tags: {} },
      protocol: 'postgres',
      policyRevision: '',
      text,
      fingerprint: 'f',
      digest: 'd',
      reasons: ['DDL needs <dba>'],
      groups: ['dba'],
      approvalsNeeded: 2,
      ttlSeconds: 60,
      reuseSeconds: 0,
      requestedMicros: 0n,
      expiresMicros: 60_000_000n,
      approveUrl: '',
    },
    approvals: [],
    rejection: undefined,
    settled: undefined,
    decision: undefined,
    history: [],
    historyDropped: 0,
    events: 1,
    waited: false,
    heldUntilMicros: undefined,
  };
}

describe('notification messages', () => {
  it('escapes Slack control characters and breaks code fences', () => {
    expect(slackEscape('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const { text } = requestedMessage(record('SELECT 1 ```\n<@here>'), 'https://approvals.test/');
    expect(text).toContain("```SELECT 1 '''\n&lt;@here&gt;```");
    expect(text).toContain('*Why:* DDL needs &lt;dba&gt;');
    expect(text).toContain('from dba (2 approvals)');
    expect(text).toContain('alice@example.test (AI agent)');
    expect(text).toContain('Review: https://approvals.test/approvals/a1');
    expect(text).toContain('Expires 1970-01-01T00:01:00.000Z');
  });

  it('bounds the statement', () => {
    const { text } = requestedMessage(record('x'.repeat(5000)), 'https://a');
    expect(text.length).toBeLessThan(2200);
    expect(text).toContain('(3500 more characters)');
  });

  it('announces outcomes with who and why', () => {
    const r = record('DROP TABLE t');
    const { text } = decidedMessage(
      r,
      {
        atMicros: 0n,
        kind: 'decided',
        actor: bob,
        verdict: '',
        outcome: 'rejected',
        reason: 'no <way>',
        ignored: '',
        eventId: 'e',
      },
      'https://a',
    );
    expect(text).toBe(
      ':no_entry: *rejected* by bob: no &lt;way&gt;\nRequest of alice@example.test on demo-pg: DROP TABLE t\nhttps://a/approvals/a1',
    );
  });
});
