import type { EventPublisher, KafkaPublisher } from '../shared/log/publisher.js';
import type { Logger } from '../shared/logger.js';
import type { PolicyEngine } from './policy/index.js';
import type { ContentMaskerFactory, SshApprovalHook } from './ssh/index.js';

/**
 * The parts of a gateway node a caller may inject (tests, benchmarks, embedded mode); each defaults to the real one
 * built from the configuration.
 */
export type GatewayDeps = {
  /** Default: a pino logger at `logLevel` on stdout. */
  logger?: Logger;
  /** Default: the bundle in `policy.bundleDir`, loaded at start. */
  policy?: PolicyEngine;
  /** What the listeners publish session events through. Default: the node's Kafka publisher itself. */
  sessionPublisher?: (publisher: KafkaPublisher) => EventPublisher;
  /** SSH output masking. Default: the content detectors of services/gateway/masking. */
  contentMasker?: ContentMaskerFactory;
  /** Holds an SSH command for approval. Default: the approval waiter (`approvals` section); without it, refused. */
  sshApproval?: SshApprovalHook;
  /** Milliseconds since the epoch. Default: `Date.now`. */
  clock?: () => number;
};
