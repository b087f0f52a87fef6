import { describe, expect, it } from 'vitest';
import type { EventBody } from '../../shared/events/session-events.js';
import { createCopyMasker, createRowMaskerFactory } from '../masking/index.js';
import {
  BackendSplitter,
  commandComplete,
  dataRow,
  decodeNoticeFields,
  errorResponse,
  noticeResponse,
  readyForQuery,
  rowDescription,
} from '../../shared/pg-wire/index.js';
import type { BackendFrame } from '../../shared/pg-wire/index.js';
import { ResponsePipeline } from './response-pipeline.js';
import type { MaskSpec } from './response-pipeline.js';

function frames(...messages: Buffer[]): BackendFrame[] {
  const s = new BackendSplitter();
  s.push(Buffer.concat(messages));
  const out: BackendFrame[] = [];
  for (let f = s.read(); f !== null; f = s.read()) out.push(f);
  return out;
}

function run(mask: MaskSpec | null, ...messages: Buffer[]): { out: Buffer[]; events: EventBody[] } {
  const p = new ResponsePipeline(createRowMaskerFactory(), (spec) => createCopyMasker(spec), {
    rowsPerEvent: 100,
    bytesPerEvent: 1 << 20,
  });
  p.expect({ kind: 'query', requestId: 1, mask, denial: null });
  const out: Buffer[] = [];
  const events: EventBody[] = [];
  for (const f of frames(...messages)) p.handle(f, out, events);
  return { out, events };
}

const SECRET = 'alice@example.com';

describe('ResponsePipeline: lineage masks per statement, server texts', () => {
  it('applies each statement its own mask in a multi-statement query', () => {
    const mask: MaskSpec = {
      columns: ['customers.email'],
      detectors: [],
      statements: [
        { outputs: [false], redact: false },
        { outputs: [true], redact: true },
      ],
    };
    const { out, events } = run(
      mask,
      rowDescription([{ name: 'x' }]),
      dataRow(['clear']),
      commandComplete('SELECT 1'),
      rowDescription([{ name: 'x' }]),
      dataRow([SECRET]),
      commandComplete('SELECT 1'),
      readyForQuery('I'),
    );
    const all = Buffer.concat(out);
    expect(all.includes(Buffer.from('clear'))).toBe(true);
    expect(all.includes(Buffer.from(SECRET))).toBe(false);
    expect(events.some((e) => e.case === 'response' && Buffer.from(e.value.data).includes(SECRET))).toBe(
      false,
    );
  });

  it('masks a statement past the plan whole (fail closed)', () => {
    const mask: MaskSpec = { columns: ['email'], detectors: [], statements: [] };
    const { out } = run(
      mask,
      rowDescription([{ name: 'x' }]),
      dataRow([SECRET]),
      commandComplete('SELECT 1'),
    );
    expect(Buffer.concat(out).includes(Buffer.from(SECRET))).toBe(false);
  });

  it('withholds error and notice texts of a statement that reads masked data, keeping the SQLSTATE', () => {
    const mask: MaskSpec = {
      columns: ['email'],
      detectors: [],
      statements: [{ outputs: [true], redact: true }],
    };
    const { out, events } = run(
      mask,
      noticeResponse({ severity: 'NOTICE', code: '00000', message: `value ${SECRET}` }),
      errorResponse({
        severity: 'ERROR',
        code: '22P02',
        message: `invalid input syntax for type integer: "${SECRET}"`,
      }),
      readyForQuery('I'),
    );
    const notice = decodeNoticeFields(out[0]!.subarray(5));
    const error = decodeNoticeFields(out[1]!.subarray(5));
    expect(notice.message).toMatch(/withheld/);
    expect(error.code).toBe('22P02');
    expect(error.message).toMatch(/withheld .*SQLSTATE 22P02/);
    expect(Buffer.concat(out).includes(Buffer.from(SECRET))).toBe(false);
    expect(events.some((e) => e.case === 'response' && e.value.text.includes(SECRET))).toBe(false);
  });

  it('runs the detectors over server texts otherwise, and leaves them alone without masking', () => {
    const err = errorResponse({
      severity: 'ERROR',
      code: '23505',
      message: 'dup',
      detail: `Key (x)=(${SECRET})`,
    });
    const scanned = run({ columns: [], detectors: ['email'] }, err).out[0]!;
    expect(decodeNoticeFields(scanned.subarray(5)).detail).not.toContain(SECRET);
    expect(decodeNoticeFields(run(null, err).out[0]!.subarray(5)).detail).toContain(SECRET);
  });
});
