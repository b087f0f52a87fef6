import { createRequire } from 'node:module';
import type { WasmInstance, WasmMemory, WasmMemoryDescriptor, WasmModule } from './wasm-api.js';

/** The members of the SDK's `LoadedPolicy` the engine uses (the SDK's own typings need the DOM lib). */
export type LoadedPolicy = {
  readonly minorVersion: unknown;
  readonly mem: WasmMemory;
  readonly wasmInstance: WasmInstance | { readonly instance: WasmInstance };
  /** Entrypoint name -> id. */
  readonly entrypoints: unknown;
  /** Address of the data document in wasm memory (set by `setData`). */
  readonly dataAddr?: unknown;
  /** Heap pointer after the data document: where the input of an evaluation is written (set by `setData`). */
  readonly dataHeapPtr?: unknown;
  /** Returns the result set, e.g. `[{ result: <decision> }]`; throws on a trap or OPA abort. */
  evaluate(input: ArrayBuffer, entrypoint: number): unknown;
  setData(data: ArrayBuffer): void;
};

type OpaWasmSdk = {
  loadPolicySync(module: WasmModule, memory: WasmMemoryDescriptor): LoadedPolicy;
};

// The SDK's ESM entry exports only `loadPolicy`; its CommonJS entry (the same code) also has `loadPolicySync`,
// which the engine uses to instantiate a compiled module synchronously (also after a wasm trap).
const require = createRequire(import.meta.url);
const sdk = require('@open-policy-agent/opa-wasm') as OpaWasmSdk;

export const loadPolicySync: OpaWasmSdk['loadPolicySync'] = (module, memory) =>
  sdk.loadPolicySync(module, memory);

/**
 * Built-ins the SDK implements in JavaScript (node_modules/@open-policy-agent/opa-wasm/src/builtins). A policy
 * module may call these through its `opa_builtinN` imports; any other non-native built-in would throw "not
 * implemented" at evaluation time, so such a module is rejected at load time. Keep in sync with
 * policies/gen-capabilities.sh.
 */
export const SDK_BUILTINS: ReadonlySet<string> = new Set([
  'json.is_valid',
  'sprintf',
  'regex.split',
  'yaml.is_valid',
  'yaml.marshal',
  'yaml.unmarshal',
]);

/** Exports every OPA policy module (ABI 1.2+) has and the SDK relies on. */
export const REQUIRED_EXPORTS: readonly string[] = [
  'opa_eval',
  'opa_wasm_abi_version',
  'opa_wasm_abi_minor_version',
  'entrypoints',
  'builtins',
  'opa_json_dump',
  'opa_json_parse',
  'opa_malloc',
  'opa_heap_ptr_get',
  'opa_heap_ptr_set',
];

type PolicyExports = {
  builtins(): number;
  opa_json_dump(addr: number): number;
  opa_eval(
    reserved: number,
    entrypoint: number,
    data: number,
    input: number,
    inputLength: number,
    heapPtr: number,
    format: number,
  ): number;
};

const decoder = new TextDecoder();

function exportsOf(policy: LoadedPolicy): PolicyExports {
  const instance = 'instance' in policy.wasmInstance ? policy.wasmInstance.instance : policy.wasmInstance;
  return instance.exports as unknown as PolicyExports;
}

/**
 * Names of the non-native built-ins a freshly loaded policy calls (the module's `builtins()` JSON). Must run
 * before `setData`, which resets the heap the dump is written to.
 */
export function requiredBuiltins(policy: LoadedPolicy): string[] {
  const exports = exportsOf(policy);
  const addr = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(addr, end)));
  return parsed !== null && typeof parsed === 'object' ? Object.keys(parsed) : [];
}

/** What `evaluateJson` reports: the result set's JSON text, or an input that does not fit the byte limit. */
export type RawEvaluation = { ok: true; resultJson: string } | { ok: false; inputBytes: number };

const utf8 = new TextEncoder();
const WASM_PAGE_BYTES = 64 * 1024;

/**
 * One evaluation through the OPA wasm ABI 1.2 `opa_eval` export, as the SDK's `LoadedPolicy.evaluate` does it for
 * ABI 1.2+ modules (input written after the data document, heap reset to just after the input, JSON result), but
 * with the input encoded straight into wasm memory (no intermediate copy) and the result read with native scans.
 * An input of more than `maxInputBytes` UTF-8 bytes is not evaluated (`ok: false`). Throws what the module throws
 * (a trap, an OPA abort, a `RangeError` when memory cannot grow).
 */
export function evaluateJson(
  policy: LoadedPolicy,
  entrypoint: number,
  inputJson: string,
  maxInputBytes: number,
): RawEvaluation {
  const dataAddr = policy.dataAddr;
  const inputAddr = policy.dataHeapPtr;
  if (typeof dataAddr !== 'number' || typeof inputAddr !== 'number') {
    throw new TypeError('the policy has no data loaded');
  }
  const mem = policy.mem;
  let memory = new Uint8Array(mem.buffer);
  let { read, written } = utf8.encodeInto(inputJson, memory.subarray(inputAddr));
  if (read < inputJson.length) {
    // It did not fit: grow by exactly what the input needs (as the SDK does), unless it is over the limit anyway.
    const needed = Buffer.byteLength(inputJson, 'utf8');
    if (needed > maxInputBytes) return { ok: false, inputBytes: needed };
    mem.grow(Math.ceil((inputAddr + needed - memory.byteLength) / WASM_PAGE_BYTES));
    memory = new Uint8Array(mem.buffer);
    ({ read, written } = utf8.encodeInto(inputJson, memory.subarray(inputAddr)));
  }
  if (written > maxInputBytes) return { ok: false, inputBytes: written };
  const exports = exportsOf(policy);
  const resultAddr = exports.opa_eval(0, entrypoint, dataAddr, inputAddr, written, inputAddr + written, 0);
  // The memory may have grown during evaluation: take a fresh view.
  memory = new Uint8Array(mem.buffer);
  const end = memory.indexOf(0, resultAddr);
  return { ok: true, resultJson: decoder.decode(memory.subarray(resultAddr, end < 0 ? memory.length : end)) };
}
