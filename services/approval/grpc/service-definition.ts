import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { MethodDefinition } from '@grpc/grpc-js';
import {
  DecideRequestSchema,
  DecideResponseSchema,
  GetRequestSchema,
  GetResponseSchema,
  ListRequestSchema,
  ListResponseSchema,
  WatchDecisionsRequestSchema,
  WatchDecisionsResponseSchema,
} from '../../../proto/gen/gatehouse/v1/approvals_pb.js';

export const APPROVAL_SERVICE_NAME = 'gatehouse.v1.ApprovalService';

function method<I extends DescMessage, O extends DescMessage>(
  name: string,
  input: I,
  output: O,
  responseStream: boolean,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path: `/${APPROVAL_SERVICE_NAME}/${name}`,
    originalName: name,
    requestStream: false,
    responseStream,
    requestSerialize: (m) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (m) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b) => fromBinary(output, b),
  };
}

/**
 * The grpc-js service definition of `gatehouse.v1.ApprovalService` (proto/gatehouse/v1/approvals.proto), written by
 * hand over the @bufbuild/protobuf generated messages; used by both the server and the client.
 */
export const approvalServiceDefinition = {
  List: method('List', ListRequestSchema, ListResponseSchema, false),
  Get: method('Get', GetRequestSchema, GetResponseSchema, false),
  Decide: method('Decide', DecideRequestSchema, DecideResponseSchema, false),
  WatchDecisions: method('WatchDecisions', WatchDecisionsRequestSchema, WatchDecisionsResponseSchema, true),
} as const;
