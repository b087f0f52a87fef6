import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import {
  DecideResponseSchema,
  GetResponseSchema,
  ListResponseSchema,
  WatchDecisionsResponseSchema,
} from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import type {
  DecideRequest,
  DecideResponse,
  GetRequest,
  GetResponse,
  ListRequest,
  ListResponse,
  WatchDecisionsRequest,
  WatchDecisionsResponse,
} from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import { ApprovalApiError, ApprovalErrorCode, badRequest } from '../errors.js';
import type { StreamRegistry } from '../http/stream-registry.js';
import type { ApprovalState } from '../model/types.js';
import { APPROVAL_STATES, stateOf } from '../model/types.js';
import { canSee } from '../model/view.js';
import type { ReviewDesk } from '../review/review-desk.js';
import type { ApprovalStore } from '../store/approval-store.js';
import { approvalServiceDefinition } from './service-definition.js';
import { toProtoApproval } from './to-proto.js';

export type GrpcApiOptions = {
  desk: ReviewDesk;
  store: ApprovalStore;
  streams: StreamRegistry;
  log: Logger;
  publicUrl: () => string;
};

const MAX_STREAM_BUFFER = 1024 * 1024;

function grpcStatusOf(status: number): GrpcStatus {
  switch (status) {
    case 400:
      return GrpcStatus.INVALID_ARGUMENT;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.NOT_FOUND;
    case 409:
      return GrpcStatus.FAILED_PRECONDITION;
    case 503:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** Only whitelisted errors reach the client with their message; anything else is logged and reported as INTERNAL. */
function toServiceError(err: unknown, log: Logger): { code: GrpcStatus; details: string } {
  if (err instanceof ApprovalApiError)
    return { code: grpcStatusOf(err.status), details: `${err.code}: ${err.message}` };
  logError(log, err, 'gRPC call failed');
  return { code: GrpcStatus.INTERNAL, details: `${ApprovalErrorCode.internal}: internal error` };
}

function authorization(metadata: Metadata): string | undefined {
  const v = metadata.get('authorization')[0];
  return typeof v === 'string' ? v : undefined;
}

function unary<Req, Res>(log: Logger, run: (req: Req, metadata: Metadata) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    run(call.request, call.metadata).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err, log)),
    );
  };
}

/** The gRPC API (`gatehouse.v1.ApprovalService`), same rules and errors as the HTTP API. */
export function buildGrpcApi(opts: GrpcApiOptions): Server {
  const { desk, store } = opts;
  const log = opts.log.child({ component: 'grpc-api' });
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 });

  const implementation = {
    List: unary<ListRequest, ListResponse>(log, async (req, md) => {
      const caller = await desk.authenticate(authorization(md));
      const state = req.state === '' ? 'pending' : req.state;
      if (state !== 'all' && !(APPROVAL_STATES as readonly string[]).includes(state)) {
        throw badRequest('state must be pending, approved, rejected, expired, abandoned or all');
      }
      const records = desk.list(caller, state as ApprovalState | 'all', req.limit === 0 ? 100 : req.limit);
      return create(ListResponseSchema, {
        approvals: records.map((r) => toProtoApproval(r, opts.publicUrl())),
      });
    }),
    Get: unary<GetRequest, GetResponse>(log, async (req, md) => {
      const caller = await desk.authenticate(authorization(md));
      return create(GetResponseSchema, {
        approval: toProtoApproval(desk.get(caller, req.approvalId), opts.publicUrl()),
      });
    }),
    Decide: unary<DecideRequest, DecideResponse>(log, async (req, md) => {
      const caller = await desk.authenticate(authorization(md));
      if (req.verdict !== 'approve' && req.verdict !== 'reject')
        throw badRequest('verdict must be "approve" or "reject"');
      const { record } = await desk.decide(caller, req.approvalId, req.verdict, req.reason, 'grpc');
      return create(DecideResponseSchema, { approval: toProtoApproval(record, opts.publicUrl()) });
    }),
    WatchDecisions: (call: ServerWritableStream<WatchDecisionsRequest, WatchDecisionsResponse>): void => {
      void watch(call).catch((err: unknown) => {
        const e = toServiceError(err, log);
        // emit('error') sets the status and ends the call (destroy() would never send a status).
        call.emit('error', Object.assign(new Error(e.details), e));
      });
    },
  };

  async function watch(
    call: ServerWritableStream<WatchDecisionsRequest, WatchDecisionsResponse>,
  ): Promise<void> {
    const caller = await desk.authenticate(authorization(call.metadata));
    desk.assertReady();
    const only = call.request.approvalId;
    const subscription = { off: (): void => undefined };
    const close = (): void => {
      subscription.off();
      release?.();
      if (!call.writableEnded) call.end();
    };
    const release = opts.streams.acquire(close);
    if (!release)
      throw new ApprovalApiError(
        ApprovalErrorCode.tooManyStreams,
        503,
        'too many open watch streams; try again later',
      );
    const send = (kind: string, record: Parameters<typeof toProtoApproval>[0]): void => {
      if (call.writableEnded || call.cancelled) return;
      if (call.writableLength > MAX_STREAM_BUFFER) {
        call.emit(
          'error',
          Object.assign(new Error('the client does not keep up'), {
            code: GrpcStatus.RESOURCE_EXHAUSTED,
            details: 'the client does not keep up',
          }),
        );
        close();
        return;
      }
      call.write(
        create(WatchDecisionsResponseSchema, { kind, approval: toProtoApproval(record, opts.publicUrl()) }),
      );
    };
    if (call.request.includePending) {
      for (const r of store.records()) {
        if (stateOf(r) === 'pending' && canSee(r, caller) && (only === '' || r.request.id === only))
          send('snapshot', r);
      }
    }
    subscription.off = store.subscribe((change) => {
      if ((only === '' || change.record.request.id === only) && canSee(change.record, caller))
        send(change.kind, change.record);
    });
    call.on('cancelled', close);
    call.on('close', close);
    call.on('error', close);
  }

  server.addService(approvalServiceDefinition, implementation);
  return server;
}

export async function listenGrpc(
  server: Server,
  host: string,
  port: number,
  tls: { cert: string; key: string } | undefined,
): Promise<number> {
  const creds = tls
    ? ServerCredentials.createSsl(
        null,
        [{ cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) }],
        false,
      )
    : ServerCredentials.createInsecure();
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Stops accepting calls, ends open streams, waits up to `timeoutMs` for calls in flight, then forces. */
export async function closeGrpc(server: Server, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
