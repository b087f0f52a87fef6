import { randomInt } from 'node:crypto';

/** Maps the (pid, secret) pairs the gateway hands to clients onto the upstream backends they stand for. */
export class CancelRegistry<T> {
  readonly #byPid = new Map<number, { secret: number; target: T }>();

  /** Registers a session and returns the BackendKeyData values for its client. */
  register(target: T): { pid: number; secret: number } {
    let pid: number;
    do pid = randomInt(1, 2 ** 31 - 1);
    while (this.#byPid.has(pid));
    const secret = randomInt(-(2 ** 31), 2 ** 31 - 1);
    this.#byPid.set(pid, { secret, target });
    return { pid, secret };
  }

  /** The target for a CancelRequest, only when the secret matches. */
  lookup(pid: number, secret: number): T | undefined {
    const entry = this.#byPid.get(pid);
    return entry && entry.secret === secret ? entry.target : undefined;
  }

  unregister(pid: number): void {
    this.#byPid.delete(pid);
  }

  get size(): number {
    return this.#byPid.size;
  }
}
