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
  // The low-level evaluation API (every ABI 1.x module has it): the engine uses it for inputs whose session parts
  // are already parsed (wasm-evaluator.ts).
  'opa_value_add_path',
  'opa_eval_ctx_new',
  'opa_eval_ctx_set_input',
  'opa_eval_ctx_set_data',
  'opa_eval_ctx_set_entrypoint',
  'opa_eval_ctx_get_result',
  'eval',
];

/** The exports of an OPA policy module (ABI 1.2+) the engine calls; addresses are offsets into its memory. */
export type PolicyExports = {
  builtins(): number;
  opa_json_dump(addr: number): number;
  opa_malloc(size: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(addr: number): void;
  /** The parsed value's address; 0 when the text is not JSON. */
  opa_json_parse(addr: number, length: number): number;
  /** Sets `value` at `path` (an array value) in the object `base`, by reference; 0 on success. */
  opa_value_add_path(base: number, path: number, value: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(ctx: number, input: number): void;
  opa_eval_ctx_set_data(ctx: number, data: number): void;
  opa_eval_ctx_set_entrypoint(ctx: number, entrypoint: number): void;
  opa_eval_ctx_get_result(ctx: number): number;
  eval(ctx: number): number;
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

export function exportsOf(policy: LoadedPolicy): PolicyExports {
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
