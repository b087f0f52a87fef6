import { parseArgs } from 'node:util';
import { requestToken } from './request-token.js';

const USAGE = `usage: gatehouse token --user NAME [--groups a,b] [--email E] [--agent] [--ttl SECONDS] [--issuer URL]
       gatehouse token --client-credentials [--issuer URL]

Prints an access token from the local development identity provider (cluster:up). The issuer defaults to
GATEHOUSE_OIDC_ISSUER. --client-credentials asks for a real client-credentials (agent) token instead.
`;

/** `gatehouse token`: a real OAuth token request to the dev IdP; prints the access token on stdout. */
export async function runToken(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string' },
      groups: { type: 'string' },
      email: { type: 'string' },
      agent: { type: 'boolean', default: false },
      ttl: { type: 'string' },
      issuer: { type: 'string' },
      'client-credentials': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const issuer = values.issuer ?? process.env.GATEHOUSE_OIDC_ISSUER;
  if (values.help || !issuer || (!values.user && !values['client-credentials'])) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  const response = await requestToken(issuer, {
    ...(values['client-credentials'] ? {} : { user: values.user! }),
    ...(values.groups
      ? {
          groups: values.groups
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean),
        }
      : {}),
    ...(values.email ? { email: values.email } : {}),
    agent: values.agent,
    ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
  });
  process.stdout.write(`${response.accessToken}\n`);
  return 0;
}
