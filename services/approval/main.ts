/** The approval service's entry points (wired into `gatehouse` by services/cli/commands.ts). */
export { runApproval, APPROVAL_USAGE } from './cli/run-approval.js';
export {
  runApprovals,
  runApprove,
  runReject,
  APPROVALS_USAGE,
  APPROVE_USAGE,
  REJECT_USAGE,
} from './cli/run-reviewer.js';
export type { ApprovalCliIo } from './cli/cli-io.js';
export { buildApproval, startApprovalService } from './service.js';
export type { ApprovalDeps, RunningApprovalService } from './service.js';
export { approvalConfigSchema, loadApprovalConfig, parseApprovalConfig } from './config.js';
export type { ApprovalConfig, ApprovalConfigInput } from './config.js';
export { ApprovalGrpcClient } from './grpc/grpc-client.js';
export { approvalServiceDefinition, APPROVAL_SERVICE_NAME } from './grpc/service-definition.js';
