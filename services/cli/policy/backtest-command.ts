import type { Logger } from '../../shared/logger.js';
import { Backtester, formatSummary } from './backtest.js';
import { buildBundle } from './build-bundle.js';
import { parseCli } from './cli-args.js';
import { regoInputUse, regoSources } from './input-paths.js';
import { partialInputUse } from './partial-use.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';
import { clickHouseFromEnv, recordedRequests } from './recorded-source.js';
import { parseSince } from './since.js';

/**
 * `gatehouse policy backtest --bundle DIR [--since 24h] [--connection X] [--identity Y] [--fail-on-change]`:
 * re-decides recorded requests with a candidate and prints what would change. Exit 1 with --fail-on-change when
 * anything would.
 */
export async function runBacktest(argv: string[], io: PolicyCliIo, _log: Logger): Promise<number> {
  const { values, positionals } = parseCli(argv, {
    bundle: { type: 'string' },
    since: { type: 'string', default: '24h' },
    connection: { type: 'string' },
    identity: { type: 'string' },
    'fail-on-change': { type: 'boolean' },
    'max-sessions': { type: 'string', default: '1000000' },
    json: { type: 'boolean' },
  });
  if (values.bundle === undefined || positionals.length > 0)
    throw new PolicyUsageError('backtest needs --bundle DIR');
  const maxSessions = Number(values['max-sessions']);
  if (!Number.isInteger(maxSessions) || maxSessions < 1)
    throw new PolicyUsageError('--max-sessions: a positive integer');
  const bundle = await buildBundle(values.bundle, io.env);
  const sources = regoSources(values.bundle);
  const withGrants = sources ? regoInputUse(sources) : 'all';
  const opa = io.env.OPA_BIN;
  const noGrants = (sources && opa ? await partialInputUse(opa, values.bundle) : undefined) ?? withGrants;
  const tester = new Backtester(
    bundle.engine,
    { withGrants, noGrants },
    {
      maxMemo: 200_000,
      maxExamples: 5,
    },
  );
  const ch = clickHouseFromEnv(io);
  const started = performance.now();
  try {
    const filter = {
      since: parseSince(values.since),
      connection: values.connection,
      identity: values.identity,
    };
    for await (const items of recordedRequests(ch, filter, { maxSessions, batchSessions: 2000 })) {
      for (const it of items) tester.add(it.request, it.recorded, it.requestId);
    }
  } finally {
    await ch.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const s = tester.summary;
  io.stdout(
    values.json === true
      ? `${JSON.stringify({ revision: bundle.revision, seconds, ...s }, null, 2)}\n`
      : formatSummary(s, bundle.revision, seconds),
  );
  const changed = s.total - s.unchanged - s.skipped;
  return values['fail-on-change'] === true && changed > 0 ? 1 : 0;
}
