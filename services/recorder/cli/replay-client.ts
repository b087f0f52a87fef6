import { ReplayApiError } from '../errors.js';
import type { RecordedEvent, SessionSummary } from '../replay/recorded-event.js';
import type { TimelineResponse } from '../replay/timeline-entry.js';
import type { CliIo, RecorderApi } from './cli-io.js';

const TIMEOUT_MS = 30_000;

async function request(io: CliIo, api: RecorderApi, path: string, accept: string): Promise<Response> {
  const url = `${api.base}${path}`;
  const headers: Record<string, string> = { accept };
  if (api.token !== undefined) headers.authorization = `Bearer ${api.token}`;
  try {
    return await io.fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers });
  } catch (cause) {
    throw new ReplayApiError(
      `cannot reach the recorder at ${new URL(url).origin}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

async function getJson<T>(io: CliIo, api: RecorderApi, path: string): Promise<T> {
  const res = await request(io, api, path, 'application/json');
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ReplayApiError(`recorder answered ${res.status} with a non-JSON body`, { status: res.status });
  }
  if (!res.ok) throw apiError(res.status, body);
  return body as T;
}

function apiError(status: number, body: unknown): ReplayApiError {
  const err = (body as { error?: { message?: unknown } } | null)?.error;
  let message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
  if (status === 401) message += ' (pass an access token with --token or $GATEHOUSE_TOKEN)';
  return new ReplayApiError(message, { status });
}

/** A session's terminal recording (asciicast v2 text) from `GET /v1/sessions/:id/asciicast`. */
export async function fetchAsciicast(io: CliIo, api: RecorderApi, sessionId: string): Promise<string> {
  const res = await request(
    io,
    api,
    `/v1/sessions/${encodeURIComponent(sessionId)}/asciicast`,
    'application/x-asciicast, application/json',
  );
  const text = await res.text();
  if (res.ok) return text;
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: report the status alone
  }
  throw apiError(res.status, body);
}

export type SessionQuery = { identity?: string; connection?: string; from?: Date; to?: Date; limit?: number };

export async function fetchSessions(io: CliIo, api: RecorderApi, q: SessionQuery): Promise<SessionSummary[]> {
  const params = new URLSearchParams();
  if (q.identity !== undefined) params.set('identity', q.identity);
  if (q.connection !== undefined) params.set('connection', q.connection);
  if (q.from !== undefined) params.set('from', q.from.toISOString());
  if (q.to !== undefined) params.set('to', q.to.toISOString());
  if (q.limit !== undefined) params.set('limit', String(q.limit));
  const body = await getJson<{ sessions: SessionSummary[] }>(io, api, `/v1/sessions?${params.toString()}`);
  return body.sessions;
}

/** Every event of a session (page by page), at most `max`. */
export async function fetchSessionEvents(
  io: CliIo,
  api: RecorderApi,
  sessionId: string,
  max: number,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: String(Math.min(10_000, max - events.length)) });
    if (cursor !== null) params.set('cursor', cursor);
    const page: { events: RecordedEvent[]; nextCursor: string | null } = await getJson(
      io,
      api,
      `/v1/sessions/${encodeURIComponent(sessionId)}/events?${params.toString()}`,
    );
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor !== null && events.length < max);
  return events;
}

export type TimelineQuery = {
  identity: string;
  from: Date;
  to?: Date | undefined;
  connection?: string | undefined;
  protocol?: string | undefined;
  limit?: number | undefined;
};

/** One identity's requests across protocols, from `GET /v1/timeline`. */
export function fetchTimeline(io: CliIo, api: RecorderApi, q: TimelineQuery): Promise<TimelineResponse> {
  const params = new URLSearchParams({ identity: q.identity, from: q.from.toISOString() });
  if (q.to !== undefined) params.set('to', q.to.toISOString());
  if (q.connection !== undefined) params.set('connection', q.connection);
  if (q.protocol !== undefined) params.set('protocol', q.protocol);
  if (q.limit !== undefined) params.set('limit', String(q.limit));
  return getJson<TimelineResponse>(io, api, `/v1/timeline?${params.toString()}`);
}
