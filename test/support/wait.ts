import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` every 200 ms until `done` accepts its value; fails after `timeoutMs` naming `what` and the last value. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(200);
    last = await probe();
  }
  return last;
}
