import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs `fn`, retrying errors Kafka marks retriable (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_FOR_PARTITION, …) for
 * a bounded time. Right after a topic is created or a leader moves, brokers answer from metadata that is still
 * propagating; kafkajs does not retry these in metadata refreshes, subscribe or offset lookups.
 */
export async function retryRetriable<T>(fn: () => Promise<T>, timeoutMs = 30_000, delayMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await sleep(delayMs);
    }
  }
}
