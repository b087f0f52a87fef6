import { shadowDecisions } from '../../recorder/main.js';
import type { Logger } from '../../shared/logger.js';
import { parseCli } from './cli-args.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';
import { clickHouseFromEnv } from './recorded-source.js';
import { parseSince } from './since.js';

type ShadowJson = { shadowDecision?: { shadowRevision?: string; outcome?: string; activeOutcome?: string } };

/** `gatehouse policy diff [--since 1h]`: where the shadow revision decided differently, by change, with examples. */
export async function runDiff(argv: string[], io: PolicyCliIo, _log: Logger): Promise<number> {
  const { values, positionals } = parseCli(argv, {
    since: { type: 'string', default: '1h' },
    limit: { type: 'string', default: '100000' },
  });
  if (positionals.length > 0) throw new PolicyUsageError('diff takes no arguments');
  const ch = clickHouseFromEnv(io);
  let rows;
  try {
    rows = await shadowDecisions(ch, parseSince(values.since), Number(values.limit));
  } finally {
    await ch.close();
  }
  const groups = new Map<string, { n: number; examples: string[] }>();
  for (const r of rows) {
    const s = (JSON.parse(r.shadow_json) as ShadowJson).shadowDecision ?? {};
    const key = `${s.shadowRevision ?? '?'}: ${s.activeOutcome ?? '?'}→${s.outcome ?? '?'}`;
    const g = groups.get(key) ?? { n: 0, examples: [] };
    g.n++;
    if (g.examples.length < 5)
      g.examples.push(
        `${r.session_id} ${r.identity_sub}@${r.connection}: ${r.statement.replace(/\s+/g, ' ').slice(0, 160)}`,
      );
    groups.set(key, g);
  }
  if (groups.size === 0) io.stdout(`no shadow decisions differ since ${values.since}\n`);
  for (const [key, g] of [...groups].sort((a, b) => b[1].n - a[1].n)) {
    io.stdout(`${key}  ${g.n}\n${g.examples.map((e) => `    ${e}\n`).join('')}`);
  }
  return 0;
}
