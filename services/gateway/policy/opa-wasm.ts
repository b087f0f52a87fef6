import { createRequire } from 'node:module';
import type { WasmInstance, WasmMemory, WasmMemoryDescriptor, WasmModule } from './wasm-api.js';

/** The members of the SDK's `LoadedPolicy` the engine uses (the SDK's own typings need the DOM lib). */
export type LoadedPolicy = {
  readonly minorVersion: unknown;
  readonly mem: WasmMemory;
  readonly wasmInstance: WasmInstance | { readonly instance: WasmInstance };
  /** Entrypoint name -> id. */
  readonly entrypoints: unknown;
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
};

const decoder = new TextDecoder();

/**
 * Names of the non-native built-ins a freshly loaded policy calls (the module's `builtins()` JSON). Must run
 * before `setData`, which resets the heap the dump is written to.
 */
export function requiredBuiltins(policy: LoadedPolicy): string[] {
  const instance = 'instance' in policy.wasmInstance ? policy.wasmInstance.instance : policy.wasmInstance;
  const exports = instance.exports as unknown as PolicyExports;
  const addr = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(addr, end)));
  return parsed !== null && typeof parsed === 'object' ? Object.keys(parsed) : [];
}
