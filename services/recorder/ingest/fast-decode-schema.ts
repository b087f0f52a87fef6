import { ScalarType } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import {
  ConnectionSchema,
  DecisionSchema,
  EventBatchSchema,
  EventSchema,
  IdentitySchema,
  RequestSchema,
  ResponseSchema,
} from '../../../proto/gen/gatehouse/v1/events_pb.js';
import type { Kind, Spec } from './wire-reader.js';

/**
 * The messages the recorder's fast decoder (`fast-decode.ts`) reads, field by field, and the check that they still
 * describe the generated schema (`FAST_DECODE`).
 */

export const IDENTITY: Spec = new Map([
  [1, ['sub', 'string']],
  [2, ['email', 'string']],
  [3, ['groups', 'strings']],
  [4, ['agent', 'bool']],
  [5, ['issuer', 'string']],
  [6, ['clientId', 'string']],
]);
export const REQUEST: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['kind', 'string']],
  [3, ['text', 'string']],
  [4, ['parsedJson', 'string']],
]);
export const DECISION: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['allow', 'bool']],
  [3, ['reasons', 'strings']],
  [4, ['approvalRequired', 'bool']],
  [5, ['approvalGroups', 'strings']],
  [6, ['approvalsNeeded', 'uint32']],
  [7, ['maskColumns', 'strings']],
  [8, ['maskDetectors', 'strings']],
  [9, ['audit', 'string']],
  [10, ['evalMicros', 'uint32']],
  [11, ['policyError', 'bool']],
  [12, ['decisionJson', 'string']],
  [13, ['grantApprovalId', 'string']],
  [17, ['argumentsDigest', 'string']],
  [18, ['toolChanged', 'bool']],
  [20, ['inputUnix', 'int64']],
  [21, ['inputSessionJson', 'string']],
  [22, ['inputGrantsJson', 'string']],
  [23, ['memoHit', 'bool']],
]);
export const RESPONSE: Spec = new Map([
  [1, ['requestId', 'uint32']],
  [2, ['frame', 'string']],
  [3, ['data', 'bytes']],
  [4, ['rows', 'uint32']],
  [5, ['text', 'string']],
  [6, ['code', 'string']],
]);
/** The envelope's own fields (6 and 7 are the identity and connection messages). */
export const ENVELOPE: Spec = new Map([
  [1, ['eventId', 'string']],
  [2, ['sessionId', 'string']],
  [3, ['seq', 'uint64']],
  [4, ['nodeId', 'string']],
  [5, ['tsMicros', 'int64']],
  [8, ['protocol', 'string']],
  [9, ['policyRevision', 'string']],
  [10, ['continued', 'uint32']],
]);
export const BODY_REQUEST = 21;
export const BODY_DECISION = 22;
export const BODY_RESPONSE = 25;
export const BODY_BATCH = 38;
export const ENVELOPE_IDENTITY = 6;
export const ENVELOPE_CONNECTION = 7;

const SCALAR_KIND: Partial<Record<ScalarType, Kind>> = {
  [ScalarType.STRING]: 'string',
  [ScalarType.BYTES]: 'bytes',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.INT64]: 'int64',
  [ScalarType.UINT64]: 'uint64',
};

/** The schema's fields of `desc` outside oneofs, as a Spec would describe them (message and map fields by name). */
function describe(desc: DescMessage): string[] {
  return desc.fields
    .filter((f) => f.oneof === undefined)
    .map((f) => {
      let kind: string;
      if (f.fieldKind === 'scalar') kind = SCALAR_KIND[f.scalar] ?? `scalar${f.scalar}`;
      else if (f.fieldKind === 'list' && f.listKind === 'scalar' && f.scalar === ScalarType.STRING)
        kind = 'strings';
      else kind = `${f.fieldKind}:${f.message?.typeName ?? ''}`;
      // A scalar with explicit presence (`optional`) would be undefined when absent: not described by a Spec.
      const explicit =
        f.fieldKind === 'scalar' && f.presence === FeatureSet_FieldPresence.EXPLICIT ? '?' : '';
      if (f.fieldKind === 'scalar' && f.longAsString) kind += ' as string';
      if (
        (f.fieldKind === 'scalar' || f.fieldKind === 'list' || f.fieldKind === 'map') &&
        !f.utf8Validation
      ) {
        kind += ' lax'; // strings read without UTF-8 validation: not what this decoder does
      }
      return `${f.number} ${f.localName} ${kind}${explicit}`;
    })
    .sort();
}

function specLines(spec: Spec): string[] {
  return [...spec].map(([n, [name, kind]]) => `${n} ${name} ${kind}`).sort();
}

function sameFields(desc: DescMessage, spec: Spec, extra: string[] = []): boolean {
  return describe(desc).join('|') === [...specLines(spec), ...extra].sort().join('|');
}

/** Whether the specs above still describe the schema; otherwise every record goes through `fromBinary`. */
export const FAST_DECODE =
  sameFields(IdentitySchema, IDENTITY) &&
  sameFields(RequestSchema, REQUEST) &&
  sameFields(DecisionSchema, DECISION) &&
  sameFields(ResponseSchema, RESPONSE) &&
  describe(ConnectionSchema).join('|') === ['1 name string', '2 protocol string', '3 tags map:'].join('|') &&
  ConnectionSchema.fields[2]?.fieldKind === 'map' &&
  ConnectionSchema.fields[2].mapKey === ScalarType.STRING &&
  ConnectionSchema.fields[2].mapKind === 'scalar' &&
  ConnectionSchema.fields[2].scalar === ScalarType.STRING &&
  sameFields(EventSchema, ENVELOPE, [
    `${ENVELOPE_IDENTITY} identity message:${IdentitySchema.typeName}`,
    `${ENVELOPE_CONNECTION} connection message:${ConnectionSchema.typeName}`,
  ]) &&
  EventSchema.fields.find((f) => f.number === BODY_REQUEST)?.message === RequestSchema &&
  EventSchema.fields.find((f) => f.number === BODY_DECISION)?.message === DecisionSchema &&
  EventSchema.fields.find((f) => f.number === BODY_RESPONSE)?.message === ResponseSchema &&
  EventSchema.fields.find((f) => f.number === BODY_BATCH)?.message === EventBatchSchema &&
  describe(EventBatchSchema).join('|') === `1 events list:${EventSchema.typeName}`;

export const MAP_ENTRY: Spec = new Map([
  [1, ['key', 'string']],
  [2, ['value', 'string']],
]);
