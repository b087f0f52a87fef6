import type { ServerResponse } from 'node:http';
import { AuditUnavailableError } from '../../shared/errors.js';
import type { Verdict } from '../pipeline/index.js';
import type { HttpAuditSession } from './audit-sessions.js';
import type { HttpListenerConfig } from './config.js';
import type { ExchangeAbort } from './exchange-abort.js';
import type { HttpProxyError } from './errors.js';
import { HttpProxyErrorCode } from './errors.js';
import { sendAnswer } from './gateway-answers.js';
import type { GatewayAnswer } from './gateway-answers.js';
import { requestText, reviewTextOf, SAFE_METHODS } from './http-request.js';
import type { HttpRequestCache, IncomingHttp } from './http-request.js';
import { relayResponse } from './relay-response.js';
import { recordGatewayAnswer } from './response-events.js';
import { createHttpMasker } from './response-masker.js';
import type { HttpUpstream, UpstreamResponse } from './upstream.js';
import { failedMidBody, forwardedHeaders, upstreamFailure } from './upstream.js';

export type Exchange = {
  readonly session: HttpAuditSession;
  readonly upstream: HttpUpstream;
  readonly incoming: IncomingHttp;
  readonly res: ServerResponse;
  /** Aborted when the client goes away or the gateway stops. */
  readonly abort: ExchangeAbort;
  readonly config: HttpListenerConfig;
  /** The listener's cache of parsed bodiless requests. */
  readonly requests: HttpRequestCache;
};

/**
 * The signal that ends an approval hold: the client left, the gateway stops, or `ms` passed. (A listener and one
 * timer, released after the decision: `AbortSignal.any` + `AbortSignal.timeout` cost several times more per request.)
 */
function holdSignal(outer: ExchangeAbort, ms: number): { signal: AbortSignal; release(): void } {
  const hold = new AbortController();
  const abort = () => hold.abort();
  outer.whenAborted(abort);
  const timer = setTimeout(abort, ms);
  return {
    signal: hold.signal,
    release: () => {
      clearTimeout(timer);
      outer.whenAborted(undefined);
    },
  };
}

/** Answers with a gateway JSON body and records it (`http.error`). */
function answer(x: Exchange, requestId: number, status: number, body: GatewayAnswer): void {
  const text = sendAnswer(x.res, status, body);
  record(x, requestId, status, text);
}

function record(x: Exchange, requestId: number, status: number, text: string): void {
  try {
    recordGatewayAnswer(x.session.audit, requestId, status, text);
  } catch (err) {
    x.session.log.warn({ err: { message: (err as Error).message } }, 'gateway answer not recorded');
  }
}

/** The answer to an upstream failure: 504 for a timeout, 502 otherwise. Never the upstream's address or credential. */
function failureAnswer(
  err: HttpProxyError,
  phase: 'request' | 'response',
): { status: number; body: GatewayAnswer } {
  switch (err.code) {
    case HttpProxyErrorCode.upstreamTimeout:
      return {
        status: 504,
        body: {
          error: 'upstream_timeout',
          message:
            phase === 'request'
              ? 'gatehouse: the upstream did not answer in time'
              : 'gatehouse: the upstream stalled while answering',
        },
      };
    case HttpProxyErrorCode.unmaskable:
      return {
        status: 502,
        body: {
          error: 'response_unmaskable',
          message: 'gatehouse: the response must be masked but cannot be (too large, compressed or not JSON)',
        },
      };
    case HttpProxyErrorCode.upstreamUnavailable:
      return {
        status: 502,
        body: {
          error: 'upstream_unavailable',
          message:
            phase === 'request'
              ? 'gatehouse: the upstream is unavailable'
              : 'gatehouse: the upstream failed while answering',
        },
      };
    default: {
      const unexpected: never = err.code;
      throw new Error(`unexpected upstream failure ${String(unexpected)}`);
    }
  }
}

/** The refusals of the verdict → wire table in pipeline/types.ts: deny 403, abandoned and error 503. */
function refusal(v: Exclude<Verdict, { kind: 'allow' | 'approved' }>): {
  status: number;
  body: GatewayAnswer;
} {
  const common = { reasons: v.reasons, policyRevision: v.revision };
  switch (v.kind) {
    case 'deny':
      return {
        status: 403,
        body: {
          error: 'denied',
          message: `gatehouse: denied: ${v.reasons.join('; ')}`,
          ...common,
          ...(v.approvalId ? { approvalId: v.approvalId } : {}),
        },
      };
    case 'abandoned':
      return {
        status: 503,
        body: {
          error: 'approval_unavailable',
          message: `gatehouse: ${v.reasons.join('; ')}`,
          ...common,
          approvalId: v.approvalId,
        },
      };
    case 'error':
      return {
        status: 503,
        body: { error: 'audit_unavailable', message: `gatehouse: ${v.reasons.join('; ')}`, ...common },
      };
    default: {
      const unexpected: never = v;
      throw new Error(`unexpected verdict ${JSON.stringify(unexpected)}`);
    }
  }
}

/**
 * One authenticated request with its body read: policy through the request pipeline (a held request keeps the
 * client waiting, bounded by `maxHoldMs` and the policy's ttl), then forwarded with the gateway's credential and
 * the upstream's response relayed back (masked when the decision says so) and recorded.
 */
export async function runExchange(x: Exchange): Promise<void> {
  const { session, incoming } = x;
  const requestId = ++session.requests;
  const request = x.requests.requestOf(incoming, x.config.policyHeaders);
  const method = request.http.method;
  const ruled = session.pipeline.rule({
    protocol: 'http',
    requestId,
    kind: `http.${method}`,
    text: requestText(incoming),
    request,
    durability: SAFE_METHODS.has(method) ? 'batched' : 'durable',
    reviewText: reviewTextOf(session.connection.name, incoming),
  });
  const ruling = ruled instanceof Promise ? await ruled : ruled;
  let verdict: Verdict;
  if (ruling.kind === 'held') {
    // The hold's signal and timer exist only while a request is held (not for every request).
    const hold = holdSignal(x.abort, x.config.maxHoldMs);
    try {
      verdict = await ruling.wait({
        onHeld: (h) =>
          session.log.info(
            { request: requestId, approval: h.approvalId, url: h.approveUrl },
            'request held for approval',
          ),
        signal: hold.signal,
      });
    } finally {
      hold.release();
    }
  } else verdict = ruling;
  if (x.abort.aborted) return;
  if (verdict.kind !== 'allow' && verdict.kind !== 'approved') {
    const r = refusal(verdict);
    answer(x, requestId, r.status, r.body);
    return;
  }
  const masker = createHttpMasker(verdict.decision.mask.fields, verdict.decision.mask.detectors);
  let upstream: UpstreamResponse;
  try {
    upstream = await x.upstream.send(
      method,
      incoming.target,
      forwardedHeaders(incoming.headers, x.config.forwardHeaders),
      incoming.body,
      x.abort,
      x.config.recordResponseBytes,
    );
  } catch (err) {
    if (x.abort.aborted) return;
    const failure = upstreamFailure(err);
    session.log.warn({ err: { code: failure.code, message: failure.message } }, 'upstream failed');
    const a = failureAnswer(failure, failedMidBody(failure) ? 'response' : 'request');
    answer(x, requestId, a.status, a.body);
    return;
  }
  try {
    await relayResponse(x, { requestId, method, masker, response: upstream });
  } catch (err) {
    if (upstream.body.kind === 'streamed') upstream.body.stream.destroy();
    if (x.abort.aborted) return;
    const audit = err instanceof AuditUnavailableError;
    const failure = audit ? null : upstreamFailure(err);
    session.log.warn(
      {
        err: { code: failure?.code ?? (err as AuditUnavailableError).code, message: (err as Error).message },
      },
      'relay failed',
    );
    const a = failure
      ? failureAnswer(failure, 'response')
      : {
          status: 503,
          body: {
            error: 'audit_unavailable',
            message: 'gatehouse: audit log unavailable: response withheld',
          },
        };
    if (x.res.headersSent) {
      // Too late for a status: the client sees its connection cut; the audit says why.
      record(
        x,
        requestId,
        a.status,
        JSON.stringify({ ...a.body, message: `${a.body.message} (connection cut)` }),
      );
      x.res.destroy();
      return;
    }
    answer(x, requestId, a.status, a.body);
  }
}
