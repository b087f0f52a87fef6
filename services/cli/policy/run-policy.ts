import { GatehouseError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { Logger } from '../../shared/logger.js';
import {
  kafkaFromEnv,
  policyTopics,
  processIo,
  PolicyUsageError,
  signingKeyFromEnv,
} from './policy-cli-env.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { parseCli } from './cli-args.js';
import { publisherIdentity } from './publisher-identity.js';
import { publishPolicy } from './publish.js';
import type { PublishWhat } from './publish.js';
import { formatStatus, nodeStatuses } from './status.js';

export const POLICY_USAGE = `usage: gatehouse policy publish DIR [--message TEXT] [--shadow]
       gatehouse policy publish --revision REV [--message TEXT] [--shadow]   (roll back / forward)
       gatehouse policy publish --clear-shadow [--message TEXT]
       gatehouse policy status [--all] [--json]
       gatehouse policy eval --input FILE [--bundle DIR]
       gatehouse policy input SESSION REQUEST_ID
       gatehouse policy backtest --bundle DIR [--since 24h] [--connection X] [--identity Y] [--fail-on-change]
       gatehouse policy diff [--since 1h]

From the environment (.stack/env): $GATEHOUSE_KAFKA_BROKERS, $GATEHOUSE_KAFKA_CA_FILE, the publisher principal
$GATEHOUSE_KAFKA_POLICY_USER/_PASSWORD_FILE (else the admin one), $GATEHOUSE_POLICY_SIGNING_KEY_FILE/_ID (else
$GATEHOUSE_CLUSTER_DIR/policy-signing.key), $GATEHOUSE_OIDC_ISSUER, $GATEHOUSE_TOKEN (a member of
$GATEHOUSE_POLICY_PUBLISH_GROUPS, default policy-admins), $GATEHOUSE_CLICKHOUSE_URL/_USER/_PASSWORD_FILE.
  --topic T         policies topic (default $GATEHOUSE_POLICY_TOPIC, else gatehouse.policies)
  --nodes-topic T   nodes topic (default $GATEHOUSE_NODES_TOPIC, else gatehouse.nodes)
`;

/** Other subcommands, added by the modules that implement them (input, eval, backtest, diff). */
export type PolicySubcommand = (argv: string[], io: PolicyCliIo, log: Logger) => Promise<number>;

const LAZY: Readonly<Record<string, () => Promise<PolicySubcommand>>> = {
  eval: async () => (await import('./eval-command.js')).runEval,
  input: async () => (await import('./input-command.js')).runInput,
  backtest: async () => (await import('./backtest-command.js')).runBacktest,
  diff: async () => (await import('./diff-command.js')).runDiff,
};

/** `gatehouse policy …`; returns the exit code. */
export async function runPolicy(argv: string[], io: PolicyCliIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  const log = createLogger({
    service: 'policy-cli',
    level: io.env.GATEHOUSE_LOG_LEVEL ?? 'warn',
    destination: process.stderr,
  });
  try {
    if (sub === 'publish') return await runPublish(rest, io, log);
    if (sub === 'status') return await runStatus(rest, io, log);
    const lazy = sub === undefined ? undefined : LAZY[sub];
    if (lazy) return await (await lazy())(rest, io, log);
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout(POLICY_USAGE);
      return 0;
    }
    throw new PolicyUsageError(
      sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`,
    );
  } catch (err) {
    if (err instanceof PolicyUsageError) {
      io.stderr(`gatehouse policy: ${err.message}\n\n${POLICY_USAGE}`);
      return 2;
    }
    if (err instanceof GatehouseError) {
      io.stderr(`gatehouse policy ${sub ?? ''}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const TOPIC_OPTIONS = { topic: { type: 'string' }, 'nodes-topic': { type: 'string' } } as const;

async function runPublish(argv: string[], io: PolicyCliIo, log: Logger): Promise<number> {
  const { values, positionals } = parseCli(argv, {
    ...TOPIC_OPTIONS,
    message: { type: 'string', short: 'm' },
    shadow: { type: 'boolean' },
    revision: { type: 'string' },
    'clear-shadow': { type: 'boolean' },
    token: { type: 'string' },
  });
  const shadow = values.shadow === true;
  let what: PublishWhat;
  if (values['clear-shadow'] === true) {
    if (positionals.length > 0 || values.revision !== undefined || shadow)
      throw new PolicyUsageError('--clear-shadow takes no DIR, --revision or --shadow');
    what = { kind: 'clear-shadow' };
  } else if (values.revision !== undefined) {
    if (positionals.length > 0) throw new PolicyUsageError('give DIR or --revision, not both');
    what = { kind: 'revision', revision: values.revision.trim(), shadow };
  } else {
    const [dir, ...extra] = positionals;
    if (dir === undefined || extra.length > 0)
      throw new PolicyUsageError('publish takes one DIR (or --revision REV)');
    what = { kind: 'dir', dir, shadow };
  }
  const identity = await publisherIdentity(io, values.token);
  const key = signingKeyFromEnv(io);
  const topics = policyTopics(io, { topic: values.topic, nodesTopic: values['nodes-topic'] });
  const kafka = kafkaFromEnv(io, log);
  const brokers = Number(io.env.GATEHOUSE_KAFKA_BROKER_COUNT ?? '3');
  const published = await publishPolicy(
    {
      kafka,
      log,
      topic: topics.policies,
      key,
      author: { sub: identity.sub, groups: [...identity.groups] },
      message: values.message ?? '',
      env: io.env,
      replicationFactor: Math.max(1, Math.min(3, Number.isFinite(brokers) ? brokers : 1)),
      groupIdPrefix: io.env.GATEHOUSE_POLICY_CLI_GROUP_PREFIX ?? 'gatehouse-policy-cli',
      readTimeoutMs: 30_000,
    },
    what,
  );
  io.stdout(
    `published ${published.key} revision ${published.revision} to ${topics.policies} (offset ${published.offset}) as ${identity.sub}\n`,
  );
  return 0;
}

async function runStatus(argv: string[], io: PolicyCliIo, log: Logger): Promise<number> {
  const { values } = parseCli(argv, {
    ...TOPIC_OPTIONS,
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const topics = policyTopics(io, { topic: values.topic, nodesTopic: values['nodes-topic'] });
  const nodes = await nodeStatuses(kafkaFromEnv(io, log), log, {
    topic: topics.nodes,
    groupIdPrefix: io.env.GATEHOUSE_POLICY_CLI_GROUP_PREFIX ?? 'gatehouse-policy-cli',
    timeoutMs: 30_000,
  });
  io.stdout(
    values.json === true ? `${JSON.stringify(nodes, null, 2)}\n` : formatStatus(nodes, values.all === true),
  );
  return 0;
}
