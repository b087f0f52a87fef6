import type { Logger } from '../../shared/logger.js';
import type { PolicyCliIo } from './policy-cli-env.js';
import { PolicyUsageError } from './policy-cli-env.js';

export function runEval(_argv: string[], _io: PolicyCliIo, _log: Logger): Promise<number> {
  return Promise.reject(new PolicyUsageError('not implemented yet'));
}
