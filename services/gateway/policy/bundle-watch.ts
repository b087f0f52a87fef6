import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { logError } from '../../shared/log-error.js';
import type { Logger } from '../../shared/logger.js';
import type { ActivePolicy } from './active-policy.js';
import type { PolicyEngineOptions } from './engine.js';
import { PolicyLoadError, PolicyLoadErrorCode } from './errors.js';
import { loadPolicyBundle } from './load-bundle.js';

/**
 * Reloads a bundle folder when it changes (single nodes without the policy stream). policies/build.sh renames
 * `revision` last, so a change is read once the folder was quiet for `debounceMs`; a bundle that fails to load is
 * refused like a stream record (the node keeps its last good revision).
 */
export function watchBundleDir(o: {
  dir: string;
  debounceMs: number;
  active: ActivePolicy;
  log: Logger;
  engineOptions?: PolicyEngineOptions;
  onRefused?: (refusal: ReturnType<ActivePolicy['refuse']>) => void;
}): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let loading = Promise.resolve();
  const reload = async (): Promise<void> => {
    try {
      const engine = await loadPolicyBundle(o.dir, o.engineOptions);
      if (engine.revision === o.active.status().revision) return;
      o.active.activate(engine, 'dir');
      o.log.info(
        { revision: engine.revision, dir: o.dir },
        'policy revision activated from the bundle folder',
      );
    } catch (err) {
      const code = err instanceof PolicyLoadError ? err.code : PolicyLoadErrorCode.bundleUnreadable;
      const refusal = o.active.refuse('unknown', code, err instanceof Error ? err.message : 'unknown error');
      logError(o.log, err, 'policy bundle folder refused; keeping the last good revision', {
        kept: o.active.status().revision,
      });
      o.onRefused?.(refusal);
    }
  };
  const watcher: FSWatcher = watch(o.dir, { persistent: false }, (_event, file) => {
    if (file !== null && file !== 'revision') return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      loading = loading.then(reload);
    }, o.debounceMs);
  });
  watcher.on('error', (err) => logError(o.log, err, 'policy bundle folder watch failed'));
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
