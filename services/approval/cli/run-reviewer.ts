import { parseArgs } from 'node:util';
import type { ApprovalView } from '../model/view.js';
import { DEFAULT_APPROVAL_URL, processIo } from './cli-io.js';
import type { ApprovalCliIo } from './cli-io.js';

const COMMON = `  --url URL       approval service (default: $GATEHOUSE_APPROVAL_URL, else ${DEFAULT_APPROVAL_URL})
  --token TOKEN   your access token (default: $GATEHOUSE_TOKEN)`;

export const APPROVALS_USAGE = `usage: gatehouse approvals list [--state pending|approved|rejected|expired|abandoned|all] [--limit N] [--json]
       gatehouse approvals show ID [--json]
${COMMON}
`;
export const APPROVE_USAGE = `usage: gatehouse approve ID [--reason TEXT]
${COMMON}
`;
export const REJECT_USAGE = `usage: gatehouse reject ID --reason TEXT
${COMMON}
`;

const COMMON_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** Terminal-safe text: control characters (which could move the cursor or recolour) become `?`. */
export function safeText(text: string, max = Number.POSITIVE_INFINITY): string {
  const clean = text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    '?',
  );
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function oneLine(text: string, max: number): string {
  return safeText(text.replace(/\s+/g, ' ').trim(), max);
}

type Target = { url: string; token: string };

function target(values: { url?: string | undefined; token?: string | undefined }, io: ApprovalCliIo): Target {
  const token = values.token ?? io.env.GATEHOUSE_TOKEN ?? '';
  if (token === '') throw new UsageError('an access token is required: --token or $GATEHOUSE_TOKEN');
  const url = (values.url ?? io.env.GATEHOUSE_APPROVAL_URL ?? DEFAULT_APPROVAL_URL).replace(/\/+$/, '');
  if (!/^https?:$/.test(URL.parse(url)?.protocol ?? '')) throw new UsageError(`not an http(s) URL: ${url}`);
  return { url, token };
}

class ApiFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

async function call<T>(
  io: ApprovalCliIo,
  t: Target,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await io.fetch(`${t.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        'x-gatehouse-client': 'cli',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    throw new ApiFailure('GH_ERR_APPROVAL_UNREACHABLE', `cannot reach ${t.url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiFailure(e?.code ?? `HTTP_${res.status}`, e?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function table(approvals: readonly ApprovalView[]): string {
  if (approvals.length === 0) return 'no approvals\n';
  const rows = approvals.map((a) => [
    a.id,
    a.state,
    oneLine(a.requester.email || a.requester.sub, 40) + (a.requester.agent ? ' (agent)' : ''),
    oneLine(a.connection.name, 30),
    a.state === 'pending' ? a.expiresAt : (a.decision?.at ?? ''),
    oneLine(a.request.text, 60),
  ]);
  const head = ['ID', 'STATE', 'REQUESTER', 'CONNECTION', 'EXPIRES/DECIDED', 'REQUEST'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function details(a: ApprovalView): string {
  const lines = [
    `approval   ${a.id}`,
    `state      ${a.state}`,
    `requester  ${safeText(a.requester.email || a.requester.sub)}${a.requester.agent ? ' (AI agent)' : ''}`,
    `where      ${safeText(a.connection.name)} (${safeText(a.protocol)}), session ${safeText(a.sessionId)}`,
    `why        ${safeText(a.reasons.join('; '))}`,
    `approvers  ${safeText(a.groups.join(', '))}: ${a.approvals.length} of ${a.approvalsNeeded}` +
      (a.approvals.length > 0
        ? ` (${a.approvals.map((x) => safeText(x.reviewer.email || x.reviewer.sub)).join(', ')})`
        : ''),
    `requested  ${a.requestedAt}`,
    `expires    ${a.expiresAt}`,
    ...(a.decision
      ? [
          `decision   ${a.decision.outcome}${a.decision.reviewer ? ` by ${safeText(a.decision.reviewer.email || a.decision.reviewer.sub)}` : ''}` +
            (a.decision.reason ? `: ${safeText(a.decision.reason)}` : ''),
        ]
      : []),
    `link       ${safeText(a.approveUrl)}`,
    'request:',
    ...safeText(a.request.text)
      .split('\n')
      .map((l) => `  ${l}`),
  ];
  return lines.join('\n') + '\n';
}

async function guarded(
  name: string,
  usage: string,
  io: ApprovalCliIo,
  run: () => Promise<number>,
): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`gatehouse ${name}: ${(err as Error).message}\n\n${usage}`);
      return 2;
    }
    if (err instanceof ApiFailure) {
      io.stderr(`gatehouse ${name}: ${safeText(err.message)} (${err.code})\n`);
      return 1;
    }
    throw err;
  }
}

/** `gatehouse approvals list|show`: what the reviewer may see. */
export function runApprovals(argv: string[], io: ApprovalCliIo = processIo): Promise<number> {
  return guarded('approvals', APPROVALS_USAGE, io, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        state: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (values.help) {
      io.stdout(APPROVALS_USAGE);
      return 0;
    }
    const [sub, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
    if (sub === 'show') {
      if (id === undefined) throw new UsageError('approvals show needs an approval ID');
      const t = target(values, io);
      const { approval } = await call<{ approval: ApprovalView }>(
        io,
        t,
        'GET',
        `/v1/approvals/${encodeURIComponent(id)}`,
      );
      io.stdout(values.json ? `${JSON.stringify(approval, null, 2)}\n` : details(approval));
      return 0;
    }
    if (sub !== undefined && sub !== 'list') throw new UsageError(`unknown subcommand ${sub}`);
    if (id !== undefined) throw new UsageError(`unexpected ${id}`);
    const state = values.state ?? 'pending';
    if (!['pending', 'approved', 'rejected', 'expired', 'abandoned', 'all'].includes(state)) {
      throw new UsageError('--state must be pending, approved, rejected, expired, abandoned or all');
    }
    const limit = values.limit ?? '100';
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1)
      throw new UsageError('--limit must be a positive number');
    const t = target(values, io);
    const { approvals } = await call<{ approvals: ApprovalView[] }>(
      io,
      t,
      'GET',
      `/v1/approvals?state=${state}&limit=${limit}`,
    );
    io.stdout(values.json ? `${JSON.stringify(approvals, null, 2)}\n` : table(approvals));
    return 0;
  });
}

async function decide(
  name: 'approve' | 'reject',
  usage: string,
  argv: string[],
  io: ApprovalCliIo,
): Promise<number> {
  return guarded(name, usage, io, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, reason: { type: 'string', short: 'r' }, json: { type: 'boolean' } },
    });
    if (values.help) {
      io.stdout(usage);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('exactly one approval ID is required');
    const reason = values.reason ?? '';
    if (name === 'reject' && reason.trim() === '') throw new UsageError('a rejection requires --reason');
    const t = target(values, io);
    const id = positionals[0]!;
    const { approval } = await call<{ approval: ApprovalView }>(
      io,
      t,
      'POST',
      `/v1/approvals/${encodeURIComponent(id)}/${name}`,
      { reason },
    );
    if (values.json) io.stdout(`${JSON.stringify(approval, null, 2)}\n`);
    else if (approval.state === 'pending') {
      io.stdout(
        `${name === 'approve' ? 'approval' : 'rejection'} recorded for ${approval.id}: ${approval.approvals.length} of ${approval.approvalsNeeded} approvals; still pending\n`,
      );
    } else io.stdout(`${approval.id} is ${approval.state}\n`);
    return 0;
  });
}

/** `gatehouse approve ID [--reason TEXT]` */
export function runApprove(argv: string[], io: ApprovalCliIo = processIo): Promise<number> {
  return decide('approve', APPROVE_USAGE, argv, io);
}

/** `gatehouse reject ID --reason TEXT` */
export function runReject(argv: string[], io: ApprovalCliIo = processIo): Promise<number> {
  return decide('reject', REJECT_USAGE, argv, io);
}
