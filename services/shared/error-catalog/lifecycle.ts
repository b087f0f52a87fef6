import type { FamilyEntries } from './entry.js';

/** A service is starting, stopping, or could not start. */
export const lifecycleErrors = {
  GH_ERR_SSH_STOPPING: {
    meaning: 'the node is shutting down and takes no new SSH sessions',
    client: 'SSH: `gatehouse: this node is shutting down`',
  },
  GH_ERR_RECORDER_STOPPED: {
    meaning: 'the recorder stopped before a batch was written (it is redelivered, not lost)',
    client: '—',
  },
  GH_ERR_APPROVAL_NOT_READY: {
    meaning: 'the approval service is still reading the approval log at start',
    client: 'HTTP 503; gRPC UNAVAILABLE',
  },
  GH_ERR_APPROVAL_START: {
    meaning: 'the approval service could not start (topic, listeners, identity provider, key)',
    client: '— (the service does not start)',
  },
  GH_ERR_IDP_START: {
    meaning: 'the dev IdP could not start (port taken, bad options)',
    client: '— (it does not start)',
  },
} as const satisfies FamilyEntries;
