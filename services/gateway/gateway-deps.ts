import type { EventLog, LogPublisher } from '../shared/log/event-log.js';
import type { EventPublisher } from '../shared/log/publisher.js';
import type { Logger } from '../shared/logger.js';
import type { PolicyEngine } from './policy/index.js';
import type { ApprovalService } from './pipeline/index.js';
import type { ContentMaskerFactory } from './ssh/index.js';

/**
 * The parts of a gateway node a caller may inject (tests, benchmarks, embedded mode); each defaults to the real one
 * built from the configuration.
 */
export type GatewayDeps = {
  /** Default: a pino logger at `logLevel` on stdout. */
  logger?: Logger;
  /** Default: the policy stream and/or `policy.bundleDir`, loaded at start (policy/policy-runtime.ts). */
  policy?: PolicyEngine;
  /** What the listeners publish session events through. Default: the node's Kafka publisher itself. */
  sessionPublisher?: (publisher: LogPublisher) => EventPublisher;
  /** SSH output masking. Default: the content detectors of services/gateway/masking. */
  contentMasker?: ContentMaskerFactory;
  /**
   * The approval service the request pipeline holds requests with and takes reuse grants from (every protocol).
   * Default: the waiter of the `approvals` section, started and stopped with the node; without one, requests that
   * need approval are refused. An injected one is the caller's to start and stop.
   */
  approvals?: ApprovalService;
  /** The event log (audit, approvals). Default: Kafka, from the `kafka` section; `npm start` injects the embedded log. */
  eventLog?: EventLog;
  /** Milliseconds since the epoch. Default: `Date.now`. */
  clock?: () => number;
};
