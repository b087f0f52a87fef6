import type { Command } from './command.js';

/** Every `gatehouse` command. Implementations are imported lazily, so `gatehouse token` does not load Kafka. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  version: {
    summary: 'print the version',
    run: () => {
      process.stdout.write('gatehouse 0.1.0\n');
      return Promise.resolve(0);
    },
  },
};
