import { embeddedTarget } from '../support/gatehouse-target.js';
import { describePostgresEndToEnd } from '../support/postgres-e2e-body.js';

// The one-process mode (`npm start`), started in this test process with its own state folder.
describePostgresEndToEnd('PostgreSQL end to end: embedded mode', embeddedTarget);
