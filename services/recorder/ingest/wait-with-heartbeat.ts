/**
 * Waits for `work` while telling the Kafka group coordinator that this member is alive, so a write that retries
 * for longer than the session timeout does not cost the partitions. A failed heartbeat (e.g. a rebalance) rejects:
 * the batch is then not committed and is redelivered to the partition's new owner.
 */
export async function waitWithHeartbeat(
  work: Promise<void>,
  heartbeat: () => Promise<void>,
  intervalMs: number,
): Promise<void> {
  let finished = false;
  const settled = work.finally(() => {
    finished = true;
  });
  settled.catch(() => undefined); // observed below; avoid an unhandled rejection if a heartbeat fails first
  while (!finished) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), intervalMs)));
    const outcome = await Promise.race([settled.then(() => 'done' as const), tick]).finally(() =>
      clearTimeout(timer),
    );
    if (outcome === 'tick' && !finished) await heartbeat();
  }
  await settled;
}
