import { reconstructInput } from '../../gateway/index.js';
import { compactOpenedEvents, decidedRequests } from '../../recorder/main.js';
import type { Logger } from '../../shared/logger.js';
import { parseCli } from './cli-args.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';
import { openedFromJson, recordedFromRow } from './recorded-json.js';
import { clickHouseFromEnv } from './recorded-source.js';

/** `gatehouse policy input SESSION REQUEST_ID`: the exact input a past request was decided with, as JSON. */
export async function runInput(argv: string[], io: PolicyCliIo, _log: Logger): Promise<number> {
  const { positionals } = parseCli(argv, {});
  const [sessionId, requestText, ...extra] = positionals;
  if (
    sessionId === undefined ||
    requestText === undefined ||
    extra.length > 0 ||
    !/^\d+$/.test(requestText)
  ) {
    throw new PolicyUsageError('input takes SESSION REQUEST_ID');
  }
  const ch = clickHouseFromEnv(io);
  try {
    const [opened, rows] = await Promise.all([
      compactOpenedEvents(ch, [sessionId]),
      decidedRequests(ch, [sessionId], new Date(0), Number(requestText)),
    ]);
    const row = rows[0];
    if (!row) {
      io.stderr(`gatehouse policy input: no decided request ${requestText} in session ${sessionId}\n`);
      return 1;
    }
    const first = opened[0];
    if (!first) {
      io.stderr(`gatehouse policy input: session ${sessionId} has no recorded session.opened event\n`);
      return 1;
    }
    const recorded = recordedFromRow(sessionId, openedFromJson(JSON.parse(first.opened_json)), row);
    io.stdout(`${JSON.stringify(reconstructInput(recorded), null, 2)}\n`);
    return 0;
  } finally {
    await ch.close();
  }
}
