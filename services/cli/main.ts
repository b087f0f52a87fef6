import { GatehouseError } from '../shared/errors.js';
import { COMMANDS } from './commands.js';

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: gatehouse <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

/** The `gatehouse` command line: dispatches to the command named by the first argument; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gatehouse: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // Expected failures (bad config, unreachable dependency) get their message; anything else its stack too.
    process.stderr.write(
      err instanceof GatehouseError
        ? `gatehouse ${name}: ${err.message}\n`
        : `gatehouse ${name}: ${(err as Error).stack ?? String(err)}\n`,
    );
    return 1;
  }
}
