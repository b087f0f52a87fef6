import { canonicalJson, sha256Hex } from './canonical-json.js';

/** The parts of a tool definition whose change is flagged (a tool-poisoning vector). */
const WATCHED = [
  ['title', 'title'],
  ['description', 'description'],
  ['inputSchema', 'input_schema'],
  ['outputSchema', 'output_schema'],
  ['annotations', 'annotations'],
] as const;

export type ToolChange = {
  readonly tool: string;
  readonly pinnedDigest: string;
  readonly digest: string;
  /** "description", "input_schema", … */
  readonly changed: readonly string[];
  readonly pinnedJson: string;
  readonly definitionJson: string;
};

type Pinned = { digest: string; json: string; parts: Readonly<Record<string, string>>; changed: boolean };

function watched(def: Readonly<Record<string, unknown>>): { json: string; parts: Record<string, string> } {
  const parts: Record<string, string> = {};
  const picked: Record<string, unknown> = {};
  for (const [key, label] of WATCHED) {
    parts[label] = canonicalJson(def[key] ?? null);
    picked[key] = def[key] ?? null;
  }
  return { json: canonicalJson(picked), parts };
}

/**
 * Tool definitions per upstream MCP server, pinned on first sight (trust on first use, in memory, per node). A later
 * listing with a different description, title, schema or annotations is reported once per new definition, and the
 * tool stays `changed` (policy input `tool_changed`) until the node restarts. Bounded: beyond `maxTools` tools per
 * server new ones are not pinned and count as changed (the policy sees them flagged).
 */
export class ToolRegistry {
  readonly #servers = new Map<string, Map<string, Pinned>>();
  readonly #maxTools: number;
  /** `tool\ndigest` of changes already reported (bounded: cleared when it grows past 16 × maxTools). */
  readonly #reported = new Set<string>();

  constructor(maxTools: number) {
    this.#maxTools = maxTools;
  }

  /** Compares a `tools/list` result's tools with the pinned definitions; returns the changes not reported yet. */
  observe(server: string, tools: readonly unknown[]): ToolChange[] {
    let pins = this.#servers.get(server);
    if (!pins) this.#servers.set(server, (pins = new Map<string, Pinned>()));
    const changes: ToolChange[] = [];
    for (const t of tools) {
      if (t === null || typeof t !== 'object') continue;
      const def = t as Record<string, unknown>;
      if (typeof def.name !== 'string') continue;
      const { json, parts } = watched(def);
      const digest = sha256Hex(json);
      const pinned = pins.get(def.name);
      if (!pinned) {
        if (pins.size < this.#maxTools) pins.set(def.name, { digest, json, parts, changed: false });
        continue;
      }
      if (pinned.digest === digest) continue;
      const key = `${def.name}\n${digest}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      if (this.#reported.size > this.#maxTools * 16) this.#reported.clear();
      pinned.changed = true;
      changes.push({
        tool: def.name,
        pinnedDigest: pinned.digest,
        digest,
        changed: WATCHED.map(([, label]) => label).filter((l) => pinned.parts[l] !== parts[l]),
        pinnedJson: pinned.json,
        definitionJson: json,
      });
    }
    return changes;
  }

  /** Whether `tool` of `server` differs from its pinned definition (or could not be pinned). */
  isChanged(server: string, tool: string): boolean {
    const pins = this.#servers.get(server);
    if (!pins) return false;
    const p = pins.get(tool);
    return p ? p.changed : pins.size >= this.#maxTools;
  }
}
