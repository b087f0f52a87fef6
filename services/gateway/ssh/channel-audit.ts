import { create } from '@bufbuild/protobuf';
import { ResponseSchema } from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { SessionAudit } from '../session-audit.js';

/** SSH response frames (`Response.frame`). Port forwards record their two directions as `stdin` and `stdout`. */
export type SshFrame = 'stdout' | 'stderr' | 'stdin' | 'window_change' | 'exit_status' | 'signal' | 'pty';

export type ChannelAuditOptions = {
  /** Most bytes of channel data per event. */
  chunkBytes: number;
  /** Bytes of audit events waiting for Kafka above which channel output pauses. */
  backlogBytes: number;
  /** Bytes currently waiting (the publisher's buffer). */
  backlog: () => number;
  /** Most time output waits for the backlog to shrink before the caller fails the session closed. */
  backlogWaitMs: number;
};

const BACKLOG_POLL_MS = 10;

/** What the publisher counts for a record beyond its value (`recordBytes`: the key, a session id, plus 64), with room. */
const RECORD_OVERHEAD = 512;

/**
 * Largest audit record of an SSH session: `maxEventBytes`, but no more than half a produce request
 * (`maxBatchBytes`), so that two full records of a bulk output travel in one produce request. With the defaults
 * (512 KiB records, 900 KiB requests) only one fitted: every round trip to the brokers carried one record (bench:ssh:
 * 391 produce requests for 200 MB, 261 with half-request records, and ~15 % less broker CPU per MB). Events larger
 * than this are split into continuation frames as before; SSH data events are at most `auditChunkBytes` anyway.
 */
export function sshRecordBytes(maxEventBytes: number, maxBatchBytes: number): number {
  return Math.max(16 * 1024, Math.min(maxEventBytes, Math.floor(maxBatchBytes / 2) - RECORD_OVERHEAD));
}

/**
 * Records what an SSH session's channels carry as `response` events (batched): the exact bytes the client saw or
 * sent, split into events of at most `chunkBytes`. Throws the publisher's refusal (the caller fails closed).
 */
export class ChannelAudit {
  readonly audit: SessionAudit;
  readonly #o: ChannelAuditOptions;

  constructor(audit: SessionAudit, opts: ChannelAuditOptions) {
    this.audit = audit;
    this.#o = opts;
  }

  data(requestId: number, frame: SshFrame, data: Buffer, revision: string): void {
    const step = this.#o.chunkBytes;
    for (let i = 0; i < data.length; i += step) {
      this.audit.batched(
        {
          case: 'response',
          value: create(ResponseSchema, { requestId, frame, data: data.subarray(i, i + step) }),
        },
        revision,
      );
    }
  }

  /** A frame without data: sizes, exit status, signal names go into `code`/`text`. */
  note(requestId: number, frame: SshFrame, fields: { code?: string; text?: string }, revision: string): void {
    this.audit.batched(
      { case: 'response', value: create(ResponseSchema, { requestId, frame, ...fields }) },
      revision,
    );
  }

  /** Whether output should pause until the publisher catches up. */
  get backlogged(): boolean {
    return this.#o.backlog() > this.#o.backlogBytes;
  }

  /** Resolves once the backlog is below the bound (true), or false after a long wait or when `signal` aborts. */
  async whenRoom(signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.#o.backlogWaitMs;
    while (this.backlogged) {
      if (signal.aborted || Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, BACKLOG_POLL_MS));
    }
    return true;
  }
}
