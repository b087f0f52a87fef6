import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import type { ApprovalMetrics } from '../metrics.js';

export type WebhookTarget = { readonly group: string; readonly url: string };

export type WebhookNotifierOptions = {
  log: Logger;
  metrics: ApprovalMetrics;
  queueSize: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  concurrency: number;
  fetch?: typeof fetch;
};

type Job = { target: WebhookTarget; body: string; attempt: number; notBefore: number };

/** The host of a webhook URL, for logs (the path of a webhook URL is its secret). */
function hostOf(url: string): string {
  return URL.parse(url)?.host ?? 'invalid-url';
}

/**
 * Sends Slack-compatible notifications (`POST {"text": …}`) from a bounded queue, never blocking its caller:
 * `notify` enqueues and returns. A failed POST (network error, timeout, 429 or 5xx) is retried with exponential
 * backoff up to `maxAttempts`; other 4xx are not retried. When the queue is full new notifications are dropped
 * and counted (`gatehouse_approval_notifications_total{result="dropped"}`).
 */
export class WebhookNotifier {
  readonly #o: WebhookNotifierOptions;
  readonly #queue: Job[] = [];
  #active = 0;
  #closed = false;
  readonly #inflight = new Set<Promise<void>>();
  #wakeTimer: NodeJS.Timeout | undefined;

  constructor(opts: WebhookNotifierOptions) {
    this.#o = opts;
  }

  get queued(): number {
    return this.#queue.length;
  }

  notify(target: WebhookTarget, message: { text: string }): boolean {
    if (this.#closed || this.#queue.length >= this.#o.queueSize) {
      this.#o.metrics.notifications.inc({ result: 'dropped' });
      this.#o.log.warn(
        { group: target.group, host: hostOf(target.url), queued: this.#queue.length },
        'notification dropped: queue full',
      );
      return false;
    }
    this.#queue.push({ target, body: JSON.stringify(message), attempt: 0, notBefore: 0 });
    this.#o.metrics.notifyQueue.set(this.#queue.length);
    this.#pump();
    return true;
  }

  #pump(): void {
    if (this.#wakeTimer) {
      clearTimeout(this.#wakeTimer);
      this.#wakeTimer = undefined;
    }
    const now = Date.now();
    while (this.#active < this.#o.concurrency) {
      const i = this.#queue.findIndex((j) => j.notBefore <= now);
      if (i < 0) break;
      const [job] = this.#queue.splice(i, 1);
      this.#o.metrics.notifyQueue.set(this.#queue.length);
      this.#active++;
      const p = this.#deliver(job!).finally(() => {
        this.#active--;
        this.#inflight.delete(p);
        this.#pump();
      });
      this.#inflight.add(p);
    }
    if (this.#queue.length > 0 && this.#active < this.#o.concurrency && !this.#closed) {
      const next = Math.min(...this.#queue.map((j) => j.notBefore));
      this.#wakeTimer = setTimeout(() => this.#pump(), Math.max(1, next - now));
      this.#wakeTimer.unref();
    }
  }

  async #deliver(job: Job): Promise<void> {
    job.attempt++;
    const doFetch = this.#o.fetch ?? fetch;
    let retry: boolean;
    let detail: string;
    try {
      const res = await doFetch(job.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: job.body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'error',
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) {
        this.#o.metrics.notifications.inc({ result: 'sent' });
        return;
      }
      retry = res.status === 429 || res.status >= 500;
      detail = `HTTP ${res.status}`;
    } catch (err) {
      retry = true;
      detail = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
    }
    const log = { group: job.target.group, host: hostOf(job.target.url), attempt: job.attempt, detail };
    if (!retry || job.attempt >= this.#o.maxAttempts || this.#closed) {
      this.#o.metrics.notifications.inc({ result: 'failed' });
      this.#o.log.warn(log, 'notification failed');
      return;
    }
    this.#o.metrics.notifications.inc({ result: 'retried' });
    this.#o.log.debug(log, 'notification will be retried');
    const backoff = Math.min(this.#o.backoffMs * 2 ** (job.attempt - 1), this.#o.maxBackoffMs);
    job.notBefore = Date.now() + backoff;
    this.#queue.push(job);
    this.#o.metrics.notifyQueue.set(this.#queue.length);
  }

  /** Stops retrying; lets POSTs in flight finish within `timeoutMs`. Returns how many were still queued. */
  async close(timeoutMs = 5_000): Promise<number> {
    this.#closed = true;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    await Promise.race([Promise.allSettled([...this.#inflight]), sleep(timeoutMs)]);
    const left = this.#queue.length;
    this.#queue.length = 0;
    this.#o.metrics.notifyQueue.set(0);
    return left;
  }
}
