/**
 * Exit codes of every long-running service (`gatehouse gateway|approval|recorder`), the same for the same cause.
 * The README's "Exit codes" table documents them.
 */
export const EXIT = {
  /** Drained after SIGTERM/SIGINT: in-flight work finished, audit log flushed, offsets committed. */
  ok: 0,
  /** Failed while running (a fatal consumer error), or the drain failed or overran `shutdown.exitTimeoutMs`. */
  failure: 1,
  /** Bad usage or configuration: unknown flag, missing `--config`, unreadable file, a schema violation. */
  usage: 2,
  /** Could not start: a dependency (Kafka, ClickHouse, the policy bundle, a secret, a port …) was unavailable. */
  unavailable: 3,
  /** A second signal during the drain: exits at once. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
