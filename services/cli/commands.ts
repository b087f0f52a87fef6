import type { Command } from './command.js';

/** Every `gatehouse` command. Implementations are imported lazily, so `gatehouse token` does not load Kafka. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  gateway: {
    summary: 'run a gateway node (--config FILE)',
    run: async (argv) => (await import('../gateway/main.js')).runGateway(argv),
  },
  idp: {
    summary: 'run the local development OIDC provider',
    run: async (argv) => (await import('../idp/main.js')).runIdp(argv),
  },
  token: {
    summary: 'print an access token from the local development OIDC provider',
    run: async (argv) => (await import('./token.js')).runToken(argv),
  },
  version: {
    summary: 'print the version',
    run: () => {
      process.stdout.write('gatehouse 0.1.0\n');
      return Promise.resolve(0);
    },
  },
};
