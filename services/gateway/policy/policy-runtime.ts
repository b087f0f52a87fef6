import type { Kafka } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../shared/config/errors.js';
import { resolveSecret } from '../../shared/config/secrets.js';
import { ensureTopics } from '../../shared/log/topics.js';
import type { Logger } from '../../shared/logger.js';
import { loadTrustedKeys } from '../../shared/signing/signing-keys.js';
import { ActivePolicy } from './active-policy.js';
import type { ActivePolicyStatus, PolicyRefusal } from './active-policy.js';
import { watchBundleDir } from './bundle-watch.js';
import type { PolicyEngine } from './engine.js';
import { PolicyLoadError, PolicyLoadErrorCode } from './errors.js';
import { loadPolicyBundle } from './load-bundle.js';
import { NodeHeartbeat } from './node-heartbeat.js';
import type { PolicyConfig } from './policy-config.js';
import { PolicyStream } from './policy-stream.js';

export type PolicyRuntime = {
  /** The engine for this request: read once per request (never cached by callers). */
  current(): PolicyEngine;
  status(): ActivePolicyStatus;
  /** Loads the policy (stream: reads the topic to its end first) and starts heartbeats/watching. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when every policy record received so far was applied or refused (tests). */
  idle(): Promise<void>;
};

export type PolicyRuntimeParts = {
  config: PolicyConfig;
  nodeId: string;
  /** The cluster's Kafka; absent with an embedded event log, where `policy.stream` cannot be used. */
  kafka: Kafka | undefined;
  log: Logger;
  registry: Registry;
  /** An engine given by the caller (tests, embedded): used as is, no stream, no folder. */
  injected?: PolicyEngine;
  replicationFactor: number;
  minInsyncReplicas: number;
};

/** The node's policy: injected, a bundle folder (optionally watched) or the policy stream with heartbeats. */
export function createPolicyRuntime(p: PolicyRuntimeParts): PolicyRuntime {
  const cfg = p.config;
  const log = p.log.child({ component: 'policy' });
  const active = new ActivePolicy({ maxRefusals: cfg.stream?.maxRefusals ?? 20 });
  const refused = new Counter({
    name: 'gatehouse_gateway_policy_refused_total',
    help: 'Policy bundles this node refused to load (kept its last good revision), by code',
    labelNames: ['code'],
    registers: [p.registry],
  });
  const swaps = new Counter({
    name: 'gatehouse_gateway_policy_swaps_total',
    help: 'Policy revisions swapped in (role active or shadow)',
    labelNames: ['role'],
    registers: [p.registry],
  });
  new Gauge({
    name: 'gatehouse_gateway_policy_revision_info',
    help: 'The active (and shadow) policy revision: 1 per revision label',
    labelNames: ['role', 'revision'],
    registers: [p.registry],
    collect() {
      this.reset();
      const s = active.status();
      if (s.revision) this.set({ role: 'active', revision: s.revision }, 1);
      if (s.shadowRevision) this.set({ role: 'shadow', revision: s.shadowRevision }, 1);
    },
  });

  const s = cfg.stream;
  const kafka = p.kafka;
  if (s && !kafka) {
    throw new ConfigError('the gateway configuration', [
      'policy.stream: the policy stream needs Kafka; this node runs on an embedded event log (use policy.bundleDir)',
    ]);
  }
  const heartbeat =
    s && kafka
      ? new NodeHeartbeat({
          kafka,
          log,
          topic: s.nodesTopic,
          nodeId: p.nodeId,
          intervalMs: s.heartbeatMs,
          status: () => active.status(),
        })
      : undefined;
  const onRefused = (r: PolicyRefusal): void => {
    refused.inc({ code: r.code });
    heartbeat?.refused(r);
  };
  const stream =
    s && kafka && !p.injected
      ? new PolicyStream({
          kafka,
          log,
          topic: s.topic,
          groupIdPrefix: s.groupIdPrefix,
          trustedKeys: loadTrustedKeys(
            Object.fromEntries(
              Object.entries(s.trustedKeys).map(([kid, k]) => [
                kid,
                typeof k === 'string' ? k : resolveSecret(k),
              ]),
            ),
          ),
          active,
          maxCandidates: s.maxCandidates,
          startTimeoutMs: s.startTimeoutMs,
          onRefused,
          onSwapped: ({ role }) => swaps.inc({ role }),
        })
      : undefined;
  let watcher: { close(): void } | undefined;

  return {
    current() {
      const engine = active.current();
      if (!engine)
        throw new PolicyLoadError(PolicyLoadErrorCode.bundleNotFound, 'no policy loaded: not started');
      return engine;
    },
    status: () => active.status(),
    idle: () => stream?.idle() ?? Promise.resolve(),
    async start() {
      if (p.injected) {
        active.activate(p.injected, 'injected');
      } else {
        if (s?.provision && kafka) {
          await ensureTopics(kafka, [
            {
              name: s.topic,
              partitions: 1,
              replicationFactor: p.replicationFactor,
              compact: true,
              minInsyncReplicas: p.minInsyncReplicas,
            },
            {
              name: s.nodesTopic,
              partitions: 1,
              replicationFactor: p.replicationFactor,
              retentionMs: s.nodesRetentionMs,
              minInsyncReplicas: p.minInsyncReplicas,
            },
          ]);
        }
        await stream?.start();
        if (!active.loaded) {
          if (cfg.bundleDir === undefined) {
            throw new PolicyLoadError(
              PolicyLoadErrorCode.bundleNotFound,
              `policy topic ${s?.topic ?? ''} holds no revision this node can load, and no policy.bundleDir is set`,
            );
          }
          active.activate(await loadPolicyBundle(cfg.bundleDir), 'dir');
        }
        if (cfg.watch && cfg.bundleDir !== undefined) {
          watcher = watchBundleDir({
            dir: cfg.bundleDir,
            debounceMs: cfg.watchDebounceMs,
            active,
            log,
            onRefused,
          });
        }
      }
      await heartbeat?.start();
      const st = active.status();
      log.info({ revision: st.revision, source: st.source, shadow: st.shadowRevision }, 'policy loaded');
    },
    async stop() {
      watcher?.close();
      await stream?.stop();
      await heartbeat?.stop();
    },
  };
}
