import type { Writable } from 'node:stream';

/*
 * Zero-copy forwarding: the frames the backend splitter returns are views of the chunk they arrived in, so frames
 * that pass unchanged lie one right after the other in that chunk's memory. Joining such neighbours gives back
 * one view of the chunk — one write to the client and one event payload instead of one per message, and no copy.
 * A masked or rewritten frame is a buffer of its own, which ends the run.
 */

/**
 * `parts` with every run of memory-adjacent views joined into one view. No bytes are copied. `whole`: the chunk the
 * parts were cut from, given back itself for a run that spans exactly all of it (the common case of a chunk that
 * passes unchanged), instead of a new view of the same bytes.
 */
export function joinAdjacent(parts: readonly Buffer[], whole?: Buffer): Buffer[] {
  if (parts.length < 2) return parts as Buffer[];
  const view = (run: Buffer, end: number): Buffer =>
    whole !== undefined &&
    run.buffer === whole.buffer &&
    run.byteOffset === whole.byteOffset &&
    end === whole.byteOffset + whole.length
      ? whole
      : Buffer.from(run.buffer, run.byteOffset, end - run.byteOffset);
  const out: Buffer[] = [];
  let run = parts[0]!;
  let end = run.byteOffset + run.length;
  let joined = false;
  for (let i = 1; i < parts.length; i++) {
    const b = parts[i]!;
    if (b.buffer === run.buffer && b.byteOffset === end) {
      end += b.length;
      joined = true;
      continue;
    }
    out.push(joined ? view(run, end) : run);
    run = b;
    end = b.byteOffset + b.length;
    joined = false;
  }
  out.push(joined ? view(run, end) : run);
  return out;
}

/**
 * Writes `parts` to `socket` with adjacent views joined (`whole`: see joinAdjacent): one write when they join into
 * one view, else the writes corked into one `writev`. Returns whether the socket's buffer is over its high-water
 * mark (pause the source).
 */
export function writeViews(socket: Writable, parts: readonly Buffer[], whole?: Buffer): boolean {
  const joined = joinAdjacent(parts, whole);
  if (joined.length === 1) socket.write(joined[0]!);
  else if (joined.length > 1) {
    socket.cork();
    for (const b of joined) socket.write(b);
    socket.uncork();
  }
  return socket.writableNeedDrain;
}

/** `parts` (of `totalBytes` bytes) as one buffer: a view when they are adjacent in memory, else one copy. */
export function concatAdjacent(parts: readonly Buffer[], totalBytes: number): Buffer {
  const joined = joinAdjacent(parts);
  return joined.length === 1 ? joined[0]! : Buffer.concat(joined, totalBytes);
}
