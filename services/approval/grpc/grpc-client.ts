import { create } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import type { ChannelCredentials, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import {
  DecideRequestSchema,
  GetRequestSchema,
  ListRequestSchema,
  WatchDecisionsRequestSchema,
} from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import type {
  DecideResponse,
  GetResponse,
  ListResponse,
  WatchDecisionsResponse,
} from '../../../proto/gen/gatehouse/v1/approvals_pb.js';
import { approvalServiceDefinition as def } from './service-definition.js';

export type ApprovalGrpcClientOptions = {
  /** `host:port` */
  address: string;
  /** Default: insecure (plaintext), for local use. */
  credentials?: ChannelCredentials;
  /** Deadline of unary calls. */
  timeoutMs?: number;
};

/** A typed client of `gatehouse.v1.ApprovalService` on @grpc/grpc-js; every call takes the caller's access token. */
export class ApprovalGrpcClient {
  readonly #client: Client;
  readonly #timeoutMs: number;

  constructor(opts: ApprovalGrpcClientOptions) {
    this.#client = new Client(opts.address, opts.credentials ?? credentials.createInsecure());
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  #metadata(token: string): Metadata {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  }

  #unary<Req, Res>(
    m: { path: string; requestSerialize: (r: Req) => Buffer; responseDeserialize: (b: Buffer) => Res },
    req: Req,
    token: string,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        this.#metadata(token),
        { deadline: Date.now() + this.#timeoutMs },
        (err: ServiceError | null, res?: Res) => (err ? reject(err) : resolve(res!)),
      );
    });
  }

  list(token: string, req: MessageInitShape<typeof ListRequestSchema> = {}): Promise<ListResponse> {
    return this.#unary(def.List, create(ListRequestSchema, req), token);
  }

  get(token: string, approvalId: string): Promise<GetResponse> {
    return this.#unary(def.Get, create(GetRequestSchema, { approvalId }), token);
  }

  decide(token: string, req: MessageInitShape<typeof DecideRequestSchema>): Promise<DecideResponse> {
    return this.#unary(def.Decide, create(DecideRequestSchema, req), token);
  }

  /** A server stream of changes; cancel it with `.cancel()`. */
  watch(
    token: string,
    req: MessageInitShape<typeof WatchDecisionsRequestSchema> = {},
  ): ClientReadableStream<WatchDecisionsResponse> {
    const m = def.WatchDecisions;
    return this.#client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      create(WatchDecisionsRequestSchema, req),
      this.#metadata(token),
    );
  }

  close(): void {
    this.#client.close();
  }
}
