import { createPublicKey } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../shared/logger.js';
import { ensureTopics } from '../../shared/log/topics.js';
import type { SigningKey } from '../../shared/signing/signing-keys.js';
import {
  bundleDigestOf,
  claimsFor,
  decodePolicyRecord,
  encodePolicyRecord,
  POLICY_RECORD_KEYS,
  REVISION_KEY_PREFIX,
} from '../../shared/policy-stream/bundle-record.js';
import type { BundleClaims, PolicyRecord } from '../../shared/policy-stream/bundle-record.js';
import { PolicyLoadError, PolicyLoadErrorCode } from '../../gateway/index.js';
import { buildBundle, checkLoads } from './build-bundle.js';
import { readTopic } from './topic-reader.js';

export type PublishWhat =
  | { readonly kind: 'dir'; readonly dir: string; readonly shadow: boolean }
  | { readonly kind: 'revision'; readonly revision: string; readonly shadow: boolean }
  | { readonly kind: 'clear-shadow' };

export type PublishContext = {
  kafka: Kafka;
  log: Logger;
  topic: string;
  key: SigningKey;
  author: BundleClaims['author'];
  message: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Replication of the policies topic when this creates it. */
  replicationFactor: number;
  groupIdPrefix: string;
  readTimeoutMs: number;
  now?: () => number;
};

export type Published = { readonly revision: string; readonly offset: string; readonly key: string };

/**
 * Publishes one policy change to the policies topic, after every check a node would make: the bundle builds,
 * verifies and loads in the gateway's engine. A bundle or revision that fails any check is never written.
 */
export async function publishPolicy(c: PublishContext, what: PublishWhat): Promise<Published> {
  const publishedAt = (c.now ?? Date.now)();
  const base = { author: c.author, message: c.message, publishedAt };
  let bundle: { wasm: Uint8Array; data: Uint8Array; revision: string };
  let rollback = false;
  if (what.kind === 'dir') {
    bundle = await buildBundle(what.dir, c.env);
  } else if (what.kind === 'revision') {
    const old = await findRevision(c, what.revision);
    await checkLoads(old.wasm, old.data, old.claims.revision);
    bundle = { wasm: old.wasm, data: old.data, revision: old.claims.revision };
    rollback = true;
  } else {
    // Ending a shadow carries an empty bundle, signed like any record.
    const empty = new Uint8Array(0);
    bundle = { wasm: empty, data: empty, revision: bundleDigestOf(empty, empty).slice(0, 16) };
  }
  const shadow = what.kind === 'clear-shadow' || what.shadow;
  const kind = what.kind === 'clear-shadow' ? 'shadow-clear' : shadow ? 'shadow' : 'activate';
  const recordKey = shadow ? POLICY_RECORD_KEYS.shadow : POLICY_RECORD_KEYS.active;
  const claims = claimsFor(bundle, { ...base, kind, rollback });
  const messages: { key: string; value: Buffer }[] = [
    { key: recordKey, value: encodePolicyRecord(claims, bundle, c.key) },
  ];
  if (what.kind === 'dir') {
    const archive = claimsFor(bundle, { ...base, kind: 'archive', rollback: false });
    messages.unshift({
      key: `${REVISION_KEY_PREFIX}${bundle.revision}`,
      value: encodePolicyRecord(archive, bundle, c.key),
    });
  }
  await ensureTopics(c.kafka, [
    { name: c.topic, partitions: 1, replicationFactor: c.replicationFactor, compact: true },
  ]);
  const producer = c.kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
    // One partition: the choice is moot; naming it keeps kafkajs's partitioner notice off the CLI's stderr.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const meta = await producer.send({ topic: c.topic, acks: -1, messages });
    const last = meta[meta.length - 1];
    const offset = last ? String(BigInt(last.baseOffset ?? '0') + BigInt(messages.length - 1)) : '?';
    return { revision: bundle.revision, offset, key: recordKey };
  } finally {
    await producer.disconnect();
  }
}

/**
 * The newest record of `revision` on the topic (its archive, or an active/shadow record naming it), verified with
 * the publisher's own key. Throws GH_ERR_POLICY_REVISION_UNKNOWN when there is none.
 */
async function findRevision(c: PublishContext, revision: string): Promise<PolicyRecord> {
  if (!/^[0-9a-f]{16,64}$/.test(revision)) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.revisionUnknown,
      `"${revision.slice(0, 70)}" is not a revision`,
    );
  }
  const keys = new Map([[c.key.keyId, createPublicKey(c.key.privateKey)]]);
  let records;
  try {
    records = await readTopic(c.kafka, c.log, {
      topic: c.topic,
      groupIdPrefix: c.groupIdPrefix,
      timeoutMs: c.readTimeoutMs,
      maxRecords: 10_000,
    });
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.revisionUnknown,
      `revision ${revision} not found: cannot read ${c.topic} (${err instanceof Error ? err.message : 'error'})`,
      { cause: err },
    );
  }
  let unverified = 0;
  for (const r of records.reverse()) {
    if (!r.value.includes(revision)) continue;
    try {
      const rec = decodePolicyRecord(r.value, keys);
      if (rec.claims.revision === revision && rec.wasm.byteLength > 0) return rec;
    } catch {
      unverified++; // not verifiable with this publisher's key: never republished
    }
  }
  throw new PolicyLoadError(
    PolicyLoadErrorCode.revisionUnknown,
    `revision ${revision} is not on ${c.topic}` +
      (unverified > 0 ? ` (${unverified} record(s) naming it do not verify with key ${c.key.keyId})` : ''),
  );
}
