import { runnerIo, runService } from '../../shared/runtime/run-service.js';
import { recorderConfigSchema } from '../config.js';
import { buildRecorder } from '../recorder.js';
import { processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';

export const RECORDER_USAGE = `usage: gatehouse recorder --config FILE

Consumes the session and approval topics and writes every event to ClickHouse; serves the replay API.
Runs until SIGTERM/SIGINT (drains, then exits 0); exit codes: README.md, "Exit codes".
`;

/** `gatehouse recorder --config FILE` */
export function runRecorder(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  return runService(
    {
      name: 'recorder',
      usage: RECORDER_USAGE,
      schema: recorderConfigSchema,
      nodeId: (config) => config.nodeId,
      build: (config, deps) => buildRecorder(config, deps),
      running: (recorder) => ({
        stop: (drainMs) => recorder.stop({ timeoutMs: drainMs }),
        done: recorder.done,
      }),
    },
    argv,
    runnerIo(io),
  );
}
