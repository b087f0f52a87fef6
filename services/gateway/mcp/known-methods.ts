/**
 * Client-to-server request methods of MCP 2025-11-25 and 2026-07-28 that the gateway relays. Anything else is
 * answered by the gateway itself with -32601 (and recorded), never forwarded: an unknown method cannot be
 * reasoned about by policy. Notifications (`notifications/…`) are relayed after policy.
 */
export const KNOWN_REQUEST_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/**
 * Requests the gateway can prove change nothing upstream (handshakes and listings): with a policy saying `audit:
 * batched` their events go through the batch buffer. Every other message is decided durably (a tool's
 * `readOnlyHint` is the server's claim, not a proof).
 */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
  'tasks/get',
  'tasks/list',
]);

export function isKnownNotification(method: string): boolean {
  return /^notifications\/[a-z_/]+$/i.test(method) && method.length <= 128;
}

/** The protocol revisions the gateway serves (and forwards): the modern one and the SDK's 2025-era list. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
