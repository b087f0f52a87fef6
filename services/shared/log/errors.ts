import { AuditUnavailableError, GatehouseError } from '../errors.js';

/** The publisher's bounded buffer is full: the caller must refuse the work (fail closed). */
export class PublishBufferFullError extends AuditUnavailableError {
  constructor(limit: string) {
    super(
      'GH_ERR_PUBLISH_BUFFER_FULL',
      `audit log buffer is full (${limit}); refusing new work until it drains`,
    );
  }
}

/** Kafka has been unreachable for longer than the configured time: the caller must refuse the work. */
export class PublishUnavailableError extends AuditUnavailableError {
  constructor(sinceMs: number, options?: { cause?: unknown }) {
    super(
      'GH_ERR_PUBLISH_UNAVAILABLE',
      `audit log (Kafka) unreachable for ${Math.round(sinceMs)} ms`,
      options,
    );
  }
}

/** A durable publish was not acknowledged in time. The record stays buffered and is still written later. */
export class PublishTimeoutError extends AuditUnavailableError {
  constructor(timeoutMs: number) {
    super('GH_ERR_PUBLISH_TIMEOUT', `audit log (Kafka) did not acknowledge within ${timeoutMs} ms`);
  }
}

/** The publisher was closed (the node is stopping): the work is refused. */
export class PublisherClosedError extends AuditUnavailableError {
  constructor() {
    super('GH_ERR_PUBLISHER_CLOSED', 'audit log publisher is closed');
  }
}

/** A Kafka topic could not be created or checked at start-up. */
export class TopicProvisionError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_TOPIC_PROVISION', message, options);
  }
}

/**
 * The broker refused a record for good (a non-retriable per-record error: too large, not authorized, corrupt).
 * Only the records concerned are affected; the session that produced them fails, others go on.
 */
export class PublishRefusedError extends AuditUnavailableError {
  /** The broker's error type, e.g. `MESSAGE_TOO_LARGE`, `TOPIC_AUTHORIZATION_FAILED`; `EVENT_TOO_LARGE` locally. */
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('GH_ERR_PUBLISH_REFUSED', message, options);
    this.reason = reason;
  }
}

/** `kafka.ssl` / `kafka.sasl` cannot be used (unreadable CA file). */
export class KafkaSecurityConfigError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_KAFKA_SECURITY_CONFIG', message, options);
  }
}
