import { generateKeyPairSync, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../services/shared/events/codec.js';
import { loadSigningKey } from '../../services/shared/signing/signing-keys.js';
import { forgedDecision } from './approval.js';
import type { GatehouseTarget } from './gatehouse-target.js';

type Notice = { message?: string };

/**
 * The PostgreSQL end-to-end behaviour — policy, masking, approvals, replay — written once against a
 * `GatehouseTarget`, so the one-process mode (`npm start`) and the cluster (`cluster:up`) are held to the same
 * assertions. Only public surfaces are used: the `pg` driver with a token from the IdP, the approval service's HTTP
 * API, the recorder's replay API — and, where the target offers it, an insider's write access to the event log.
 */
export function describePostgresEndToEnd(
  name: string,
  start: () => Promise<GatehouseTarget | undefined>,
): void {
  let target: GatehouseTarget | undefined;
  beforeAll(async () => {
    target = await start();
  }, 180_000);
  afterAll(async () => {
    await target?.close();
  });

  const t = (): GatehouseTarget => {
    if (!target) throw new Error('target not started');
    return target;
  };

  async function connectAs(user: { user: string; groups?: string[]; agent?: boolean }): Promise<{
    client: pg.Client;
    notices: Notice[];
  }> {
    const password = await t().token({
      user: user.user,
      groups: user.groups ?? [],
      agent: user.agent ?? false,
    });
    const client = new pg.Client({
      host: t().pg.host,
      port: t().pg.port,
      user: user.user,
      password,
      database: 'demo-pg',
      ssl: t().pg.ssl ? { rejectUnauthorized: false } : false,
    });
    const notices: Notice[] = [];
    client.on('notice', (n: Notice) => notices.push(n));
    await client.connect();
    return { client, notices };
  }

  async function api<T>(url: string, token: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  type HeldDdl = {
    client: pg.Client;
    table: string;
    approvalId: string;
    /** A dba's token. */
    dba: string;
    held: Promise<unknown>;
    settled(): boolean;
  };

  /** A person's CREATE TEMP TABLE, held for approval: once its approval is pending at the approval service. */
  async function holdDdl(): Promise<HeldDdl> {
    const { client, notices } = await connectAs({ user: `pat-${randomUUID().slice(0, 8)}` });
    const dba = await t().token({ user: 'dora', groups: ['dba'] });
    const table = `gh_e2e_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    let settled = false;
    const held = client.query(`CREATE TEMP TABLE ${table} (id int)`);
    held.then(
      () => (settled = true),
      () => (settled = true), // awaited by `approve`; a failure before that must not go unhandled
    );
    let approvalId: string | undefined;
    for (let i = 0; i < 100 && approvalId === undefined; i++) {
      approvalId = /approval ([0-9a-f-]{36})/i.exec(notices.map((n) => n.message).join('\n'))?.[1];
      if (approvalId === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(approvalId, `a NOTICE naming the approval (got ${JSON.stringify(notices)})`).toBeDefined();
    // The approval service learns of it from the log (in the cluster: relayed between topics), so poll.
    type View = { approval: { state: string; request: { text: string }; groups: string[] } };
    let pending: View | undefined;
    for (let i = 0; i < 100 && pending === undefined; i++) {
      pending = await api<View>(`${t().approvalUrl}/v1/approvals/${approvalId}`, dba).catch(() => undefined);
      if (pending === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (!pending) throw new Error(`approval ${approvalId} never reached the approval service`);
    expect(pending.approval).toMatchObject({ state: 'pending', groups: ['dba'] });
    expect(pending.approval.request.text).toContain(table);
    return { client, table, approvalId: approvalId!, dba, held, settled: () => settled };
  }

  /** Approves `h` as its dba through the approval service's API, and waits for the statement to complete. */
  async function approve(h: HeldDdl): Promise<void> {
    await api(`${t().approvalUrl}/v1/approvals/${h.approvalId}/approve`, h.dba, {
      method: 'POST',
      body: '{}',
    });
    await h.held;
  }

  /** The session id the gateway names in a denial's DETAIL line. */
  const sessionOf = (err: unknown): string =>
    /session ([0-9a-f-]{36})/.exec(String((err as { detail?: string }).detail))![1]!;

  /**
   * A test that needs the target; skipped (not failed) when `start` found none (a cluster that is not running), or
   * when it needs the `insider` and the target has none.
   */
  const live = (title: string, body: () => Promise<void>, needs: { insider?: boolean } = {}): void => {
    it(title, async (ctx) => {
      if (!target || (needs.insider && !target.insider)) ctx.skip();
      await body();
    });
  };

  describe(name, () => {
    live('allows an agent to read and denies its write, with the policy reasons (42501)', async () => {
      const { client } = await connectAs({ user: 'agent-e2e', agent: true });
      try {
        const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM orders');
        expect(Number(rows[0]!.n)).toBe(1000);
        const err = await client.query('DELETE FROM orders').then(
          () => undefined,
          (e: unknown) => e as { code?: string; message?: string },
        );
        expect(err?.code).toBe('42501');
        expect(err?.message).toMatch(/DELETE without WHERE is not allowed/);
        // The session stays usable after a denial.
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    });

    live('masks PII columns for a reader outside pii-readers, by lineage', async () => {
      // A person (agents may not compute on masked columns at all): derived values are masked whole.
      const { client } = await connectAs({ user: 'pat-reader' });
      try {
        const { rows } = await client.query<Record<string, string>>(
          `SELECT id, full_name, email, upper(email) AS shout, card_number FROM customers WHERE id = 1`,
        );
        expect(rows[0]!.full_name).toBe('James Smith');
        expect(rows[0]!.email).toBe('***');
        expect(rows[0]!.shout).toBe('***');
        expect(rows[0]!.card_number).toBe('***');
      } finally {
        await client.end();
      }
    });

    live("holds a person's DDL until a dba approves it, then runs it", async () => {
      const h = await holdDdl();
      try {
        await approve(h);
        expect((await h.client.query(`SELECT count(*)::int AS n FROM ${h.table}`)).rows).toEqual([{ n: 0 }]);
      } finally {
        await h.client.end();
      }
    });

    live(
      'a decision forged on the approvals topic resumes nothing and is recorded; the genuine approval still does',
      async () => {
        const insider = t().insider!;
        const h = await holdDdl();
        try {
          const record = insider.pendingApproval(h.approvalId);
          expect(record?.request.text).toContain(h.table);
          const reviewer = {
            sub: 'dora',
            email: 'dora@example.com',
            groups: ['dba'],
            agent: false,
            issuer: t().issuer,
            client_id: 'gatehouse-dev',
          };
          const attackerPem = generateKeyPairSync('ed25519')
            .privateKey.export({ format: 'pem', type: 'pkcs8' })
            .toString();
          const forgeries = [
            forgedDecision(record!, { reviewer }),
            forgedDecision(record!, { reviewer, key: loadSigningKey('attacker-1', attackerPem) }),
          ];
          for (const e of forgeries) await insider.writeApprovalsTopic(h.approvalId, encodeEvent(e));
          // The node refused both (security events on the session's record) and the statement still waits.
          const soc = await t().token({ user: 'sam', groups: ['soc'] });
          type Events = { events: { kind: string; code: string; approvalId: string }[] };
          let refused: Events['events'] = [];
          for (let i = 0; i < 100 && refused.length < forgeries.length; i++) {
            const url = `${t().recorderUrl}/v1/sessions/${record!.request.sessionId}/events`;
            const events = await api<Events>(url, soc).then(
              (r) => r.events,
              () => [],
            );
            refused = events.filter((e) => e.kind === 'security');
            if (refused.length < forgeries.length) await new Promise((r) => setTimeout(r, 200));
          }
          expect(refused.map((e) => [e.code, e.approvalId]).sort()).toEqual([
            ['unknown_key', h.approvalId],
            ['unsigned', h.approvalId],
          ]);
          expect(h.settled()).toBe(false);
          const view = await api<{ approval: { state: string } }>(
            `${t().approvalUrl}/v1/approvals/${h.approvalId}`,
            h.dba,
          );
          expect(view.approval.state).toBe('pending');
          await approve(h);
          expect((await h.client.query(`SELECT count(*)::int AS n FROM ${h.table}`)).rows).toEqual([
            { n: 0 },
          ]);
        } finally {
          await h.client.end();
        }
      },
      { insider: true },
    );

    live('records the session: the replay API returns its requests and decisions in order', async () => {
      const { client } = await connectAs({ user: 'agent-e2e', agent: true });
      let sessionId = '';
      try {
        await client.query('SELECT id FROM orders ORDER BY id LIMIT 2');
        sessionId = await client.query('DELETE FROM orders').then(
          () => '',
          (e: unknown) => sessionOf(e),
        );
      } finally {
        await client.end();
      }
      expect(sessionId).not.toBe('');
      const soc = await t().token({ user: 'sam', groups: ['soc'] });
      type Events = { events: { kind: string; statement: string; decision: string }[] };
      let events: Events['events'] = [];
      for (let i = 0; i < 100; i++) {
        events = await api<Events>(`${t().recorderUrl}/v1/sessions/${sessionId}/events`, soc).then(
          (r) => r.events,
          () => [], // 404 until the recorder wrote the first events
        );
        if (events.some((e) => e.kind === 'session_closed')) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const requests = events.filter((e) => e.kind === 'request').map((e) => e.statement);
      expect(requests).toEqual(['SELECT id FROM orders ORDER BY id LIMIT 2', 'DELETE FROM orders']);
      expect(events.filter((e) => e.kind === 'decision').map((e) => e.decision)).toEqual(['allow', 'deny']);
      expect(events.at(-1)?.kind).toBe('session_closed');
      // The summary row is recomputed right after the events are written: poll until it shows the close.
      type Summary = { session: { requests: number; denied: number; closed: boolean } };
      let summary: Summary | undefined;
      for (let i = 0; i < 100 && summary?.session.closed !== true; i++) {
        summary = await api<Summary>(`${t().recorderUrl}/v1/sessions/${sessionId}`, soc).catch(
          () => undefined,
        );
        if (summary?.session.closed !== true) await new Promise((r) => setTimeout(r, 200));
      }
      expect(summary?.session).toMatchObject({ requests: 2, denied: 1, closed: true });
    });
  });
}
