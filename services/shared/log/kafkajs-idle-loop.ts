import { createRequire } from 'node:module';

/** The part of kafkajs' per-connection `RequestQueue` (src/network/requestQueue) the fix below touches. */
type RequestQueue = {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
};

/** kafkajs' own interval for re-checking pending requests. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

let fixed = false;

/**
 * kafkajs 2.2.4 re-arms a timer in every broker connection's request queue after each check, even when no request
 * waits and no broker throttles: `throttledUntil` starts at -1, so the delay is negative (1 ms) and the queue checks
 * itself a thousand times a second, forever (tulios/kafkajs#1556 and #1704, unfixed upstream). A gateway with its
 * producer, admin and consumer connections spends tens of ms of CPU per second on it, idle or not, and under load each
 * turn of the event loop runs those timers too. This replaces the method with kafkajs' own, except that it arms no
 * timer when nothing is pending and nothing is throttled: a request that must wait still gets its check (pending
 * requests are scheduled as before, and every completed request checks the queue). Idempotent.
 */
export function fixRequestQueueIdleLoop(): void {
  if (fixed) return;
  const RequestQueueClass = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueue;
  };
  RequestQueueClass.prototype.scheduleCheckPendingRequests = function (this: RequestQueue): void {
    if (this.throttleCheckTimeoutId) return;
    let scheduleAt = this.throttledUntil - Date.now();
    if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
    else if (scheduleAt <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  };
  fixed = true;
}
