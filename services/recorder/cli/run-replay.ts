import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { renderTranscript } from '../replay/transcript.js';
import { processIo, recorderApi } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { fetchAsciicast, fetchSessionEvents } from './replay-client.js';
import { reportCliError } from './run-sessions.js';

export const REPLAY_USAGE = `usage: gatehouse replay SESSION_ID [--recorder URL] [--format text|json|asciicast]
                         [--output FILE] [--max-events N] [--max-rows N] [--token TOKEN]

Prints a recorded session: every request, decision, approval and what the client saw.
--format asciicast writes the terminal recording of an SSH session (asciicast v2, play it
with \`asciinema play FILE\`); --output writes to FILE instead of standard output.
The recorder URL defaults to $GATEHOUSE_RECORDER_URL; the access token (group soc by default)
is --token or $GATEHOUSE_TOKEN.
`;

const FORMATS = ['text', 'json', 'asciicast'];

/** `gatehouse replay SESSION_ID …`: 0 on success, 1 when the session is unknown or the recorder fails, 2 on bad arguments. */
export async function runReplay(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        recorder: { type: 'string' },
        token: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'max-events': { type: 'string', default: '100000' },
        'max-rows': { type: 'string', default: '200' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(REPLAY_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one SESSION_ID');
    if (!FORMATS.includes(values.format)) throw new UsageError('--format: text, json or asciicast');
    if (values.output === '') throw new UsageError('--output: a file name');
    const maxEvents = Number(values['max-events']);
    const maxRows = Number(values['max-rows']);
    if (!Number.isInteger(maxEvents) || maxEvents < 1)
      throw new UsageError('--max-events: a positive integer');
    if (!Number.isInteger(maxRows) || maxRows < 0) throw new UsageError('--max-rows: a non-negative integer');
    const sessionId = positionals[0]!;
    const base = recorderApi(values, io);
    let text: string;
    if (values.format === 'asciicast') {
      text = await fetchAsciicast(io, base, sessionId);
    } else {
      const events = await fetchSessionEvents(io, base, sessionId, maxEvents);
      text =
        values.format === 'json'
          ? `${JSON.stringify({ sessionId, events }, null, 2)}\n`
          : renderTranscript(events, { maxRowsPerResult: maxRows });
      if (values.format === 'text' && events.length >= maxEvents)
        io.stderr(`gatehouse: transcript truncated after ${maxEvents} events\n`);
    }
    if (values.output === undefined) io.stdout(text);
    else await writeFile(values.output, text, 'utf8');
    return 0;
  } catch (err) {
    return reportCliError(err, io, REPLAY_USAGE);
  }
}
