/**
 * The parts of the WebAssembly JavaScript API the policy engine uses, typed here because the project compiles
 * without the DOM lib and @types/node 20 declares no WebAssembly global.
 */

/** A compiled module (opaque). */
export type WasmModule = { readonly __brand?: 'WebAssembly.Module' };

export type WasmMemory = { readonly buffer: ArrayBuffer; grow(deltaPages: number): number };

export type WasmMemoryDescriptor = { initial: number; maximum?: number };

export type WasmInstance = { readonly exports: Readonly<Record<string, unknown>> };

type WasmApi = {
  validate(bytes: ArrayBuffer): boolean;
  compile(bytes: ArrayBuffer): Promise<WasmModule>;
  Module: { exports(module: WasmModule): { name: string; kind: string }[] };
  RuntimeError: abstract new (...args: never[]) => Error;
};

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
