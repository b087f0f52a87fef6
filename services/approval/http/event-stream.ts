import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../shared/identity/identity.js';
import { ApprovalApiError, ApprovalErrorCode } from '../errors.js';
import { stateOf } from '../model/types.js';
import { canSee, toView } from '../model/view.js';
import type { ApprovalStore, StoreChange } from '../store/approval-store.js';
import type { StreamRegistry } from './stream-registry.js';

/** Bytes a slow client may fall behind before its stream is closed (it reconnects and reloads). */
const MAX_BUFFERED = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

function frame(event: string, data: unknown): string {
  // JSON has no raw newlines, so one `data:` line holds it.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * `GET /v1/events`: server-sent events for the caller. `event: hello` first, then (with `?include=pending`) one
 * `event: approval` per visible pending approval (kind "snapshot"), then one `event: approval` `{kind, approval}` per
 * change (requested, reviewed, decided) the caller may see; a comment line every 15 s keeps proxies from closing it.
 */
export function openEventStream(opts: {
  req: FastifyRequest;
  reply: FastifyReply;
  caller: Identity;
  store: ApprovalStore;
  streams: StreamRegistry;
  publicUrl: () => string;
  includePending: boolean;
}): void {
  const { reply, caller, store } = opts;
  const res = reply.raw;
  const live: { off: () => void; heartbeat: NodeJS.Timeout | undefined } = {
    off: () => undefined,
    heartbeat: undefined,
  };
  const close = (): void => {
    live.off();
    if (live.heartbeat) clearInterval(live.heartbeat);
    release?.();
    if (!res.writableEnded) res.end();
  };
  const release = opts.streams.acquire(close);
  if (!release) {
    throw new ApprovalApiError(
      ApprovalErrorCode.tooManyStreams,
      503,
      'too many open event streams; try again later',
    );
  }
  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const write = (text: string): void => {
    if (res.writableEnded) return;
    if (res.writableLength > MAX_BUFFERED) {
      close();
      return;
    }
    res.write(text);
  };
  write(frame('hello', { sub: caller.sub, email: caller.email, groups: caller.groups }));
  if (opts.includePending) {
    for (const r of store.records()) {
      if (stateOf(r) === 'pending' && canSee(r, caller))
        write(frame('approval', { kind: 'snapshot', approval: toView(r, opts.publicUrl()) }));
    }
  }
  live.off = store.subscribe((change: StoreChange) => {
    if (!canSee(change.record, caller)) return;
    write(frame('approval', { kind: change.kind, approval: toView(change.record, opts.publicUrl()) }));
  });
  live.heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
  res.on('close', close);
  opts.req.raw.on('close', close);
}
