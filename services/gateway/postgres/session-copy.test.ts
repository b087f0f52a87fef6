import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  allow,
  copyData,
  copyDone,
  copyInResponse,
  copyOutResponse,
  useSessionHarness,
  waitUntil,
} from '../../../dev/pg-session-fixtures/session-harness.js';
import type { SessionHarness } from '../../../dev/pg-session-fixtures/session-harness.js';
import { commandComplete, dataRow, readyForQuery, rowDescription } from '../../shared/pg-wire/index.js';
import type { MaskSpec } from './response-pipeline.js';

/*
 * COPY through the session and the bounds of the audit batches: COPY OUT rows masked as the request's mask says,
 * COPY IN data recorded as it is forwarded, and rows (DataRow or CopyData) published in events of at most
 * `rowsPerEvent` rows / `bytesPerEvent` bytes, the completion travelling with the last batch.
 */

const start = useSessionHarness();

const SECRET = 'alice@example.com';

async function copyOut(mask: MaskSpec | null, rows: string[]): Promise<SessionHarness> {
  const t = await start({ policy: () => allow(mask) });
  t.client.write(serialize.query('COPY (SELECT id, email FROM users) TO STDOUT'));
  await t.backend.untilUnits(1);
  t.backend.write(
    copyOutResponse(2),
    ...rows.map(copyData),
    copyDone(),
    commandComplete(`COPY ${rows.length}`),
    readyForQuery('I'),
  );
  await t.client.untilReady();
  return t;
}

function noSecretPublished(t: SessionHarness): void {
  for (const r of t.publisher.records) expect(r.value.includes(SECRET)).toBe(false);
}

describe('PgSession COPY OUT masking', () => {
  it('replaces every row when the statement reads a masked column (COPY has no column names)', async () => {
    const mask = {
      columns: ['users.email'],
      detectors: [],
      statements: [{ outputs: [false, true], redact: false }],
    };
    const t = await copyOut(mask, [`1\t${SECRET}\n`, `2\t${SECRET}\n`]);
    expect(t.client.bytes()).toEqual(
      Buffer.concat([
        copyOutResponse(2),
        copyData('***\n'),
        copyData('***\n'),
        copyDone(),
        commandComplete('COPY 2'),
        readyForQuery('I'),
      ]),
    );
    expect(t.publisher.responses().map((r) => [r.frame, r.rows, r.text])).toEqual([
      ['copy_start', 0, ''],
      ['copy_out', 2, 'COPY 2'],
    ]);
    noSecretPublished(t);
  });

  it('leaves the rows alone when the lineage of the statement reaches no masked column', async () => {
    const mask = {
      columns: ['users.email'],
      detectors: [],
      statements: [{ outputs: [false, false], redact: false }],
    };
    const rows = ['1\tbob\n', '2\tcarol\n'];
    const t = await copyOut(mask, rows);
    expect(t.client.bytes()).toEqual(
      Buffer.concat([
        copyOutResponse(2),
        ...rows.map(copyData),
        copyDone(),
        commandComplete('COPY 2'),
        readyForQuery('I'),
      ]),
    );
  });

  it('replaces detector matches in place, keeping the row shape', async () => {
    const t = await copyOut({ columns: [], detectors: ['email'] }, [`1\t${SECRET}\n`]);
    const row = t.client.frames.find((f) => f.code === 0x64)!;
    const text = row.payload.toString('utf8');
    expect(text).not.toContain(SECRET);
    expect(text.startsWith('1\t')).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\t')).toHaveLength(2);
    noSecretPublished(t);
  });

  it('forwards the rows of an unmasked COPY untouched', async () => {
    const rows = [`1\t${SECRET}\n`];
    const t = await copyOut(null, rows);
    expect(t.client.bytes()).toEqual(
      Buffer.concat([
        copyOutResponse(2),
        copyData(rows[0]!),
        copyDone(),
        commandComplete('COPY 1'),
        readyForQuery('I'),
      ]),
    );
  });
});

describe('PgSession COPY IN', () => {
  it('forwards the client data as sent and records each CopyData', async () => {
    const t = await start();
    t.client.write(serialize.query('COPY t FROM STDIN'));
    await t.backend.untilUnits(1);
    t.backend.write(copyInResponse(1));
    await waitUntil(
      () => t.client.frames.some((f) => f.code === 0x47),
      () => 'CopyInResponse at the client',
    );
    const data = [serialize.copyData(Buffer.from('1\n')), serialize.copyData(Buffer.from('2\n'))];
    t.client.write(...data, serialize.copyDone());
    const sent = await t.backend.untilMessages(4);
    expect(sent.slice(1).map((m) => m.raw)).toEqual([...data, serialize.copyDone()]);
    t.backend.write(commandComplete('COPY 2'), readyForQuery('I'));
    await t.client.untilReady();
    const frames = t.publisher.responses().map((r) => [r.requestId, r.frame, Buffer.from(r.data).toString()]);
    expect(frames).toEqual([
      [1, 'copy_start', copyInResponse(1).toString()],
      [1, 'copy_in', '1\n'],
      [1, 'copy_in', '2\n'],
      [1, 'result', commandComplete('COPY 2').toString()],
    ]);
  });
});

/** A simple query answered with one text column `x`, `rows` and `SELECT <n>`, all in one upstream write. */
async function selectRows(t: SessionHarness, rows: Buffer[]): Promise<void> {
  t.client.write(serialize.query('SELECT x FROM t'));
  await t.backend.untilUnits(1);
  t.backend.write(
    rowDescription([{ name: 'x' }]),
    ...rows,
    commandComplete(`SELECT ${rows.length}`),
    readyForQuery('I'),
  );
  await t.client.untilReady();
}

describe('PgSession audit batch bounds', () => {
  it('publishes DataRows in events of at most rowsPerEvent rows, the completion with the last', async () => {
    const t = await start({ limits: { rowsPerEvent: 3 } });
    const rows = [1, 2, 3, 4, 5, 6, 7].map((i) => dataRow([String(i)]));
    await selectRows(t, rows);
    const events = t.publisher.responses();
    expect(events.map((r) => [r.frame, r.rows, r.text])).toEqual([
      ['row_description', 0, 'x'],
      ['data_rows', 3, ''],
      ['data_rows', 3, ''],
      ['result', 1, 'SELECT 7'],
    ]);
    // Every row recorded once, in order, exactly as the client received it.
    const recorded = Buffer.concat(events.slice(1).map((r) => Buffer.from(r.data)));
    expect(recorded).toEqual(Buffer.concat([...rows, commandComplete('SELECT 7')]));
  });

  it('closes a batch once it reaches bytesPerEvent', async () => {
    const t = await start({ limits: { rowsPerEvent: 100, bytesPerEvent: 1000 } });
    const rows = [1, 2, 3, 4, 5].map((i) => dataRow([String(i).repeat(400)]));
    const size = rows[0]!.length; // 411: three rows reach the bound
    await selectRows(t, rows);
    const events = t.publisher.responses().slice(1);
    expect(events.map((r) => [r.frame, r.rows, r.data.length])).toEqual([
      ['data_rows', 3, 3 * size],
      ['result', 2, 2 * size + commandComplete('SELECT 5').length],
    ]);
  });

  it('bounds COPY OUT batches the same way', async () => {
    const t = await start({ limits: { rowsPerEvent: 2 } });
    t.client.write(serialize.query('COPY t TO STDOUT'));
    await t.backend.untilUnits(1);
    const rows = ['1\n', '2\n', '3\n'];
    t.backend.write(
      copyOutResponse(1),
      ...rows.map(copyData),
      copyDone(),
      commandComplete('COPY 3'),
      readyForQuery('I'),
    );
    await t.client.untilReady();
    expect(t.publisher.responses().map((r) => [r.frame, r.rows, r.text])).toEqual([
      ['copy_start', 0, ''],
      ['copy_out', 2, ''],
      ['copy_out', 1, 'COPY 3'],
    ]);
  });
});
