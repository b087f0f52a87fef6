/** One documented error code: what it means and what a client of Gatehouse sees when it happens. */
export type ErrorEntry = {
  /** One sentence for operators: what went wrong. */
  readonly meaning: string;
  /** What reaches the client (PostgreSQL SQLSTATE, SSH line or exit status, HTTP status, CLI exit); `—` when nothing does. */
  readonly client: string;
};

/** The codes of one family, keyed by code. */
export type FamilyEntries = Readonly<Record<`GH_ERR_${string}`, ErrorEntry>>;
