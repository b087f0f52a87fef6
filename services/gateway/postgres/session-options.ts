import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { FrontendParser } from '../../shared/pg-wire/index.js';
import type { SessionAudit } from '../session-audit.js';
import type { CopyMasker, MaskerFactory, MaskSpec } from './response-pipeline.js';
import type { SqlDecider } from './verdict.js';

/** What a `PgSession` is made of, once the listener has logged the client in and connected upstream. */
export type PgSessionOptions = {
  client: Socket;
  upstream: Socket;
  /** Bytes of the client stream already read past the StartupMessage/password. */
  parser: FrontendParser;
  audit: SessionAudit;
  decide: SqlDecider;
  maskers: MaskerFactory;
  copyMasker: (spec: MaskSpec) => CopyMasker;
  log: Logger;
  limits: {
    rowsPerEvent: number;
    bytesPerEvent: number;
    idleTimeoutMs: number;
    maxBackendMessageBytes: number;
    /** Most prepared statements plus cursors/portals a session may hold (beyond: 54000). */
    maxNames: number;
  };
  onClose: (reason: string) => void;
};
