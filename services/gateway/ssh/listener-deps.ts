import type { Identity } from '../../shared/identity/index.js';
import type { EventPublisher } from '../../shared/log/publisher.js';
import type { Logger } from '../../shared/logger.js';
import type { SshListenerConfig } from '../config.js';
import type { LoginRefusal } from '../login-audit/index.js';
import type { SessionAudit } from '../session-audit.js';
import type { SshDecider } from './ssh-decider.js';
import type { ContentMaskerFactory } from './stream-masker.js';
import type { SshUpstreamTarget } from './upstream.js';

/** One configured SSH connection: the SSH user name a client logs in with selects it. */
export type SshConnection = {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly target: SshUpstreamTarget;
};

export type SshListenerDeps = {
  config: SshListenerConfig;
  nodeId: string;
  /** The listener's own host private key (file contents). */
  hostKey: Buffer | string;
  connections: ReadonlyMap<string, SshConnection>;
  verifyToken: (token: string) => Promise<Identity>;
  publisher: EventPublisher;
  sessionsTopic: string;
  /** Largest encoded audit event; larger ones become continuation frames (kafka.publisher.maxEventBytes). */
  maxEventBytes: number;
  /** Most bytes in one produce request (kafka.publisher.maxBatchBytes): a session's records are at most half. */
  maxBatchBytes: number;
  /** Bytes of audit events waiting for Kafka (channel output pauses above `config.auditBacklogBytes`). */
  auditBacklog: () => number;
  /** Builds the request decider of one session (policy input needs its identity and connection). */
  decider: (ctx: {
    audit: SessionAudit;
    identity: Identity;
    connection: SshConnection;
    clientAddr: string;
    log: Logger;
  }) => SshDecider;
  /** Content masking for output (the detectors a decision names). */
  contentMasker: ContentMaskerFactory;
  log: Logger;
  metrics: { sessionOpened(): void; sessionClosed(): void; loginFailed(code: string): void };
  /** Records refused logins (`login_refused` events). */
  refusals: { record(r: LoginRefusal): void };
};
