import type { Command } from './command.js';
import { devCommand } from './dev-command.js';

/**
 * Every `gatehouse` command. Implementations are imported lazily, so `gatehouse approve` does not load Kafka; `idp`
 * and `token` live in the dev-only tree (see dev-command.ts).
 */
export const COMMANDS: Readonly<Record<string, Command>> = {
  gateway: {
    summary: 'run a gateway node (--config FILE)',
    run: async (argv) => (await import('../gateway/main.js')).runGateway(argv),
  },
  recorder: {
    summary: 'run a recorder: Kafka → ClickHouse, with the replay API (--config FILE)',
    run: async (argv) => (await import('../recorder/main.js')).runRecorder(argv),
  },
  sessions: {
    summary: 'list recorded sessions [--identity X] [--connection Y] [--since 1h]',
    run: async (argv) => (await import('../recorder/main.js')).runSessions(argv),
  },
  replay: {
    summary: 'print a recorded session (SESSION_ID [--format text|json|asciicast] [--output FILE])',
    run: async (argv) => (await import('../recorder/main.js')).runReplay(argv),
  },
  timeline: {
    summary: "one identity's requests across SQL, SSH, MCP and HTTP (--identity X [--since 1h])",
    run: async (argv) => (await import('../recorder/main.js')).runTimeline(argv),
  },
  approval: {
    summary: 'run an approval service (--config FILE)',
    run: async (argv) => (await import('../approval/main.js')).runApproval(argv),
  },
  approvals: {
    summary: 'list or show approval requests (list [--state pending] | show ID)',
    run: async (argv) => (await import('../approval/main.js')).runApprovals(argv),
  },
  approve: {
    summary: 'approve a held request (ID) with your token (GATEHOUSE_TOKEN)',
    run: async (argv) => (await import('../approval/main.js')).runApprove(argv),
  },
  reject: {
    summary: 'reject a held request (ID --reason TEXT)',
    run: async (argv) => (await import('../approval/main.js')).runReject(argv),
  },
  login: {
    summary: 'log in at an OpenID provider and cache the token (--device, --client-credentials for agents)',
    run: async (argv) => (await import('./login/run-login.js')).runLogin(argv),
  },
  logout: {
    summary: 'forget cached tokens ([--issuer URL | --all])',
    run: async (argv) => (await import('./login/run-login.js')).runLogout(argv),
  },
  psql: {
    summary: 'run psql on a gateway connection with your cached token (CONNECTION [psql arguments])',
    run: async (argv) => (await import('./login/run-client.js')).runPsql(argv),
  },
  ssh: {
    summary: 'run ssh on a gateway connection with your cached token (CONNECTION [command])',
    run: async (argv) => (await import('./login/run-client.js')).runSsh(argv),
  },
  dev: devCommand(
    'dev',
    'run everything in one process with embedded parts (what `npm start` runs)',
    'embedded/main.js',
    'runEmbedded',
  ),
  policy: {
    summary: 'publish, roll back, check and test policy (publish|status|eval|input|backtest|diff; --help)',
    run: async (argv) => (await import('./policy/run-policy.js')).runPolicy(argv),
  },
  idp: devCommand('idp', 'run the local development OIDC provider', 'idp/main.js', 'runIdp'),
  token: devCommand(
    'token',
    'print an access token from the local development OIDC provider',
    'idp/run-token.js',
    'runToken',
  ),
  version: {
    summary: 'print the version',
    run: () => {
      process.stdout.write('gatehouse 0.1.0\n');
      return Promise.resolve(0);
    },
  },
};
