/**
 * The cost of signed approval decisions: canonical encoding + Ed25519 sign (approval service, once per decision) and
 * verify (gateway, once per decision read from the approvals topic). Session events are not signed, so
 * `bench:publish` and `bench:pgbench` do not change.
 *
 *   node --import tsx benchmarks/decision-signature.ts [--n 20000]
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import {
  ApprovalDecidedSchema,
  ConnectionSchema,
  EventSchema,
  IdentitySchema,
} from '../proto/gen/gatehouse/v1/events_pb.js';
import { claimsFromEvent } from '../services/shared/signing/decision-claims.js';
import { signDecision, verifyDecisionSignature } from '../services/shared/signing/decision-signature.js';
import { loadSigningKey, loadTrustedKeys, publicKeyText } from '../services/shared/signing/signing-keys.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const n = Number(values.n);
const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const key = loadSigningKey('bench', pem);
const keys = loadTrustedKeys({ bench: publicKeyText(key) });
const who = (sub: string) =>
  create(IdentitySchema, {
    sub,
    email: `${sub}@example.com`,
    groups: ['dba', 'oncall'],
    issuer: 'https://idp',
  });
const event = create(EventSchema, {
  eventId: 'e',
  sessionId: 'approval:a',
  seq: 3n,
  identity: who('alice'),
  connection: create(ConnectionSchema, { name: 'prod-orders', protocol: 'postgres' }),
  body: {
    case: 'approvalDecided',
    value: create(ApprovalDecidedSchema, {
      approvalId: '7d1c6f3e-1f7a-4c55-9d0e-1b6a2f0c9e11',
      outcome: 'approved',
      reviewer: who('bob'),
      approvers: [who('carol'), who('bob')],
      approverGroups: ['dba'],
      sessionId: '2b8f4a61-0f5e-4f0b-8a77-52d1c9e0a4d2',
      nodeId: 'gw-1',
      requestId: 17,
      requestDigest: 'd'.repeat(64),
      requestHash: 'f'.repeat(64),
      reuseSeconds: 300,
      expiresMicros: 1_800_000_000_000_000n,
      decidedMicros: 1_799_999_000_000_000n,
    }),
  },
});
const claims = claimsFromEvent(event)!;
let signed = signDecision(claims, key);
let t = performance.now();
for (let i = 0; i < n; i++) signed = signDecision(claims, key);
const signUs = ((performance.now() - t) * 1000) / n;
if (event.body.case === 'approvalDecided') {
  event.body.value.keyId = signed.keyId;
  event.body.value.signature = signed.signature;
}
t = performance.now();
for (let i = 0; i < n; i++) if (!verifyDecisionSignature(event, keys).ok) throw new Error('does not verify');
const verifyUs = ((performance.now() - t) * 1000) / n;
process.stdout.write(
  `| step (${n} decisions) | µs per decision |\n|---|---|\n` +
    `| approval service: canonical encoding + Ed25519 sign | ${signUs.toFixed(1)} |\n` +
    `| gateway: canonical encoding + Ed25519 verify | ${verifyUs.toFixed(1)} |\n`,
);
