import type { AuthContext, KeyboardAuthContext } from 'ssh2';

/** The outcome of one login attempt with a token. `message` is shown to the client on failure. */
export type LoginOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly final?: boolean };

export type SshAuthOptions<T> = {
  /** Verifies the token for the SSH user name (the connection) and opens the session. */
  login: (username: string, token: string) => Promise<LoginOutcome<T>>;
  /** Failed logins before the connection is refused for good. */
  maxAttempts: number;
  /** A refusal decided before any attempt (e.g. too many sessions): every method fails with this message. */
  refusal?: { code: string; message: string } | undefined;
  onSuccess: (value: T) => void;
  onFailure: (code: string, message: string) => void;
  /** A login that completed after the connection went away: the owner releases it. */
  onDiscard: (value: T) => void;
  /** Called when no attempts are left: the listener closes the connection. */
  onExhausted: () => void;
};

/** The keyboard-interactive prompt; it contains "assword" so `sshpass` answers it like a password prompt. */
export const TOKEN_PROMPT = 'Password (Gatehouse access token): ';

const TOKEN_METHODS = ['password', 'keyboard-interactive'] as const;

/**
 * Client authentication of one SSH connection. The client's OIDC access token is its password, sent with the
 * `password` or `keyboard-interactive` method; `publickey` (and `hostbased`) are refused, since a client key says
 * nothing about the caller's identity provider session.
 *
 * SSH has no error text in an authentication failure, so a failure is explained through keyboard-interactive:
 * after a failed attempt only that method is offered, and its next round is an information request with no prompts
 * whose instruction is the reason (`gatehouse: …`), which OpenSSH prints on stderr. Then the client may try
 * again, up to `maxAttempts` failures; a final refusal (unknown connection, upstream unavailable, too many sessions,
 * audit log down) or the last failed attempt disconnects. Clients that do not offer keyboard-interactive only see
 * "Permission denied".
 */
export class SshAuthenticator<T> {
  readonly #o: SshAuthOptions<T>;
  #failures = 0;
  /** The reason of the last failure, not yet shown to the client. */
  #pending: { code: string; message: string } | undefined;
  #done = false;

  constructor(opts: SshAuthOptions<T>) {
    this.#o = opts;
    this.#pending = opts.refusal;
  }

  handle(ctx: AuthContext): void {
    if (this.#done) {
      ctx.reject([]);
      return;
    }
    switch (ctx.method) {
      case 'password':
        if (this.#failures >= this.#o.maxAttempts) {
          this.#exhaust();
        } else if (this.#pending) ctx.reject(['keyboard-interactive']);
        else
          void this.#attempt(ctx.username, ctx.password, (ok) =>
            ok ? ctx.accept() : ctx.reject(['keyboard-interactive']),
          );
        return;
      case 'keyboard-interactive':
        this.#keyboard(ctx);
        return;
      case 'none':
      case 'publickey':
      case 'hostbased':
        ctx.reject(this.#pending ? ['keyboard-interactive'] : [...TOKEN_METHODS]);
        return;
      default:
        (ctx as AuthContext).reject([...TOKEN_METHODS]);
    }
  }

  #keyboard(ctx: KeyboardAuthContext): void {
    if (this.#pending) {
      this.#explain(ctx);
      return;
    }
    ctx.prompt([{ prompt: TOKEN_PROMPT, echo: false }], 'Gatehouse', '', (answers) => {
      if (!Array.isArray(answers)) return; // aborted by a new request
      void this.#attempt(ctx.username, answers[0] ?? '', (ok) => {
        if (ok) ctx.accept();
        else this.#explain(ctx);
      });
    });
  }

  /** Shows the pending failure reason, then fails the method. */
  #explain(ctx: KeyboardAuthContext): void {
    const reason = this.#pending;
    this.#pending = undefined;
    const exhausted = this.#failures >= this.#o.maxAttempts || this.#o.refusal !== undefined;
    ctx.prompt([], '', reason?.message ?? 'gatehouse: access denied', () => {
      // OpenSSH reads an empty method list as "try them all again": a final refusal disconnects instead.
      if (exhausted) this.#exhaust();
      else ctx.reject([...TOKEN_METHODS]);
    });
  }

  async #attempt(username: string, token: string, reply: (ok: boolean) => void): Promise<void> {
    let outcome: LoginOutcome<T>;
    try {
      outcome = await this.#o.login(username, token.trim());
    } catch (err) {
      outcome = {
        ok: false,
        code: 'GH_ERR_SSH_LOGIN',
        message: `gatehouse: login failed (${(err as Error).name})`,
      };
    }
    if (this.#done) {
      if (outcome.ok) this.#o.onDiscard(outcome.value);
      return;
    }
    if (outcome.ok) {
      this.#done = true;
      reply(true);
      this.#o.onSuccess(outcome.value);
      return;
    }
    this.#failures++;
    if (outcome.final) this.#failures = this.#o.maxAttempts;
    this.#pending = { code: outcome.code, message: outcome.message };
    this.#o.onFailure(outcome.code, outcome.message);
    reply(false);
  }

  #exhaust(): void {
    if (this.#done) return;
    this.#done = true;
    this.#o.onExhausted();
  }

  /** Stops accepting attempts (connection closed or timed out). */
  cancel(): void {
    this.#done = true;
  }
}
