import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../test/support/stack.js';

/**
 * Top self-time frames of a V8 CPU profile (`node --cpu-prof`, the `.cpuprofile` JSON): each sample's time
 * (`timeDeltas`) goes to the node it hit; nodes are summed by function, file and line.
 */
const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export type ProfileFrame = { frame: string; selfMs: number; percent: number };

/** Frames that are not JavaScript work (the event loop waiting). Left out of the total. */
const IDLE = new Set(['(idle)']);

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  return path.startsWith(`${PROJECT_ROOT}/`) ? path.slice(PROJECT_ROOT.length + 1) : path;
}

export function topFrames(profileJson: string, limit: number): { busyMs: number; frames: ProfileFrame[] } {
  const profile = profileSchema.parse(JSON.parse(profileJson));
  const keyOf = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    keyOf.set(n.id, url ? `${name} ${shortUrl(url)}:${lineNumber + 1}` : name);
  }
  const selfMicros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const key = keyOf.get(id) ?? '(unknown)';
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const busy = [...selfMicros].filter(([k]) => !IDLE.has(k));
  const busyMicros = busy.reduce((s, [, v]) => s + v, 0);
  const frames = busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, percent: (100 * us) / Math.max(1, busyMicros) }));
  return { busyMs: busyMicros / 1000, frames };
}

/** The one `.cpuprofile` file `node --cpu-prof --cpu-prof-dir DIR` wrote into `dir`. */
export function readCpuProfile(dir: string): { file: string; json: string } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir} (did the gateway exit cleanly?)`);
  const file = join(dir, files[0]!);
  return { file, json: readFileSync(file, 'utf8') };
}
