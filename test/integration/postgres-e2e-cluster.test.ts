import { clusterTarget, stackTarget } from '../support/gatehouse-target.js';
import { describePostgresEndToEnd } from '../support/postgres-e2e-body.js';

// The cluster of `npm run cluster:up` (addresses from .stack/env) when it runs; else the same services started here
// on the stack's Kafka and ClickHouse (as in CI), so this body always runs against Kafka + ClickHouse too.
describePostgresEndToEnd(
  'PostgreSQL end to end: cluster',
  async () => (await clusterTarget()) ?? stackTarget(),
);
