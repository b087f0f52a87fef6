import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { DecisionSchema, RequestSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import { failClosedResult } from '../policy/fail-closed.js';
import type { PolicyResult } from '../policy/types.js';
import { decisionEvent, requestEvent } from './decision-events.js';

const allow: PolicyResult = {
  failedClosed: false,
  revision: 'r1',
  evalMicros: 12.6,
  decision: {
    allow: true,
    reasons: ['reads allowed'],
    approval: { required: false, groups: ['dba'], approvals_needed: 2, ttl_seconds: 60, reuse_seconds: 0 },
    mask: { columns: ['email'], fields: ['$.card'], detectors: ['email'] },
    audit: 'batched',
  },
};

describe('decisionEvent', () => {
  it('builds the message create(DecisionSchema) builds, field for field and byte for byte', () => {
    const extra = {
      argumentsDigest: 'abc',
      toolChanged: true,
      inputUnix: 1_714_564_800n,
      inputSessionJson: '{"client_addr":"a"}',
      inputGrantsJson: '[]',
    };
    const cases = [
      { result: allow, reasons: ['shown'], grant: 'g1', extra },
      { result: { ...allow, memoHit: true } as PolicyResult, reasons: [], grant: '', extra: {} },
      {
        result: failClosedResult({ kind: 'eval', message: 'boom' } as never, 'r2', 3),
        reasons: ['x'],
        grant: '',
        extra: {},
      },
    ];
    for (const c of cases) {
      const body = decisionEvent(7, c.result, c.reasons, c.grant, c.extra);
      if (body.case !== 'decision') throw new Error('not a decision');
      const d = c.result.decision;
      const expected = create(DecisionSchema, {
        ...c.extra,
        requestId: 7,
        allow: d.allow,
        reasons: c.reasons,
        approvalRequired: d.approval.required,
        approvalGroups: [...d.approval.groups],
        approvalsNeeded: d.approval.approvals_needed,
        maskColumns: [...d.mask.columns],
        maskDetectors: [...d.mask.detectors],
        audit: d.audit,
        evalMicros: Math.round(c.result.evalMicros),
        policyError: c.result.failedClosed,
        decisionJson: JSON.stringify(d),
        grantApprovalId: c.grant,
        memoHit: 'memoHit' in c.result,
      });
      expect(body.value).toEqual(expected);
      expect(Buffer.from(toBinary(DecisionSchema, body.value))).toEqual(
        Buffer.from(toBinary(DecisionSchema, expected)),
      );
    }
  });
});

describe('requestEvent', () => {
  it('builds the message create(RequestSchema) builds, field for field and byte for byte', () => {
    const request = { kind: 'http', fingerprint: 'fp', http: { method: 'GET', path: '/é' } } as never;
    const body = requestEvent(3, 'http.GET', 'GET /é', request);
    if (body.case !== 'request') throw new Error('not a request');
    const expected = create(RequestSchema, {
      requestId: 3,
      kind: 'http.GET',
      text: 'GET /é',
      parsedJson: JSON.stringify(request),
    });
    expect(body.value).toEqual(expected);
    expect(Buffer.from(toBinary(RequestSchema, body.value))).toEqual(
      Buffer.from(toBinary(RequestSchema, expected)),
    );
  });
});
