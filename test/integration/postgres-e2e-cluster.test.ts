import { clusterTarget } from '../support/gatehouse-target.js';
import { describePostgresEndToEnd } from '../support/postgres-e2e-body.js';

// The cluster of `npm run cluster:up` (addresses from .stack/env); skipped when it is not running.
describePostgresEndToEnd('PostgreSQL end to end: cluster', clusterTarget);
