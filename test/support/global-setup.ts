import { stackEnv } from './stack.js';

/** Integration tests need the local stack (`npm run stack:up`); fail at once with that hint when it is missing. */
export default function setup(): void {
  const env = stackEnv();
  for (const key of ['GATEHOUSE_KAFKA_BROKERS', 'GATEHOUSE_CLICKHOUSE_URL', 'PG_TARGET_URL', 'OPA_BIN']) {
    if (!env[key]) throw new Error(`.stack/env lacks ${key}: run \`npm run stack:up\``);
  }
}
