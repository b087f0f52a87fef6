import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { renderTranscript } from '../replay/transcript.js';
import { processIo, recorderUrl } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { fetchSessionEvents } from './replay-client.js';
import { reportCliError } from './run-sessions.js';

export const REPLAY_USAGE = `usage: gatehouse replay SESSION_ID [--recorder URL] [--format text|json] [--max-events N]
                         [--max-rows N]

Prints a recorded session: every request, decision, approval and what the client saw.
The recorder URL defaults to $GATEHOUSE_RECORDER_URL.
`;

/** `gatehouse replay SESSION_ID …`: 0 on success, 1 when the session is unknown or the recorder fails, 2 on bad arguments. */
export async function runReplay(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        recorder: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'max-events': { type: 'string', default: '100000' },
        'max-rows': { type: 'string', default: '200' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(REPLAY_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one SESSION_ID');
    if (values.format !== 'text' && values.format !== 'json') throw new UsageError('--format: text or json');
    const maxEvents = Number(values['max-events']);
    const maxRows = Number(values['max-rows']);
    if (!Number.isInteger(maxEvents) || maxEvents < 1)
      throw new UsageError('--max-events: a positive integer');
    if (!Number.isInteger(maxRows) || maxRows < 0) throw new UsageError('--max-rows: a non-negative integer');
    const sessionId = positionals[0]!;
    const events = await fetchSessionEvents(io, recorderUrl(values.recorder, io), sessionId, maxEvents);
    if (values.format === 'json') {
      io.stdout(`${JSON.stringify({ sessionId, events }, null, 2)}\n`);
    } else {
      io.stdout(renderTranscript(events, { maxRowsPerResult: maxRows }));
      if (events.length >= maxEvents)
        io.stderr(`gatehouse: transcript truncated after ${maxEvents} events\n`);
    }
    return 0;
  } catch (err) {
    return reportCliError(err, io, REPLAY_USAGE);
  }
}
