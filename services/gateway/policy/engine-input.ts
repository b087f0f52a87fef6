import { frozenJson, isDeeplyFrozen } from '../pipeline/frozen-json.js';
import type { PolicyInput } from './types.js';
import type { SplitInput } from './wasm-evaluator.js';

/** `identity`, `connection`, `session`, `request`, `time`, `grants`. */
const INPUT_FIELDS = 6;

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/**
 * `input` split for the evaluator (wasm-evaluator.ts): the session parts, keyed by their JSON, and the rest of the
 * document as JSON. A request frozen whole (`deepFreeze`, as the HTTP listener freezes its requests) is written from
 * its cached JSON, which the decision memo's key and the `request` event share: written once per request, not once per
 * use. Undefined when the input has other fields or a part is not an object (then it is encoded whole, as it is).
 */
export function splitInput(input: PolicyInput): SplitInput | undefined {
  // Exactly the six fields (anything else is encoded whole, as it is).
  if (!isObject(input) || Object.keys(input).length !== INPUT_FIELDS) return undefined;
  const { identity, connection, session, request, time, grants } = input;
  if (!isObject(identity) || !isObject(connection) || !isObject(session) || !isObject(request))
    return undefined;
  if (!isObject(time) || !Array.isArray(grants)) return undefined;
  const requestJson = frozenJson(request);
  // Parts frozen whole (policy-input.ts makes them so for a session's requests) are keyed by their cached JSON; the
  // concatenation of three JSON objects reads back one way only, so it is as exact a key as the JSON of the triple.
  const sessionKey =
    isDeeplyFrozen(identity) && isDeeplyFrozen(connection) && isDeeplyFrozen(session)
      ? frozenJson(identity) + frozenJson(connection) + frozenJson(session)
      : JSON.stringify([identity, connection, session]);
  return {
    sessionKey,
    identity,
    connection,
    session,
    restJson: `{"request":${requestJson},"time":${JSON.stringify(time)},"grants":${JSON.stringify(grants)}}`,
  };
}
