/** The recorder's command-line entry points (wired into `gatehouse` by services/cli/commands.ts). */
export { runRecorder } from './cli/run-recorder.js';
export { runSessions } from './cli/run-sessions.js';
export { runReplay } from './cli/run-replay.js';
export { runTimeline } from './cli/run-timeline.js';
export { buildRecorder, startRecorder } from './recorder.js';
export type { Recorder, RecorderDeps } from './recorder.js';
export { renderTranscript } from './replay/transcript.js';
export type { RecordedEvent, SessionSummary } from './replay/recorded-event.js';
export { loadRecorderConfig, parseRecorderConfig, recorderConfigSchema } from './config.js';
export type { RecorderConfig } from './config.js';
export { connectClickHouse } from './clickhouse/client.js';
export type { ClickHouse, ClickHouseOptions } from './clickhouse/client.js';
export {
  compactDecidedRequests,
  compactOpenedEvents,
  compactSessionsWithDecisions,
  requestsByHash,
  decidedRequests,
  shadowDecisions,
} from './store/policy-input-rows.js';
export type {
  CompactDecisionRow,
  RecordedDecisionRow,
  RecordedFilter,
  RecordedSessionRow,
} from './store/policy-input-rows.js';
