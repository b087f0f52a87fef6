import { z } from 'zod';
import { DecisionCache } from './decision-cache.js';
import { splitInput } from './engine-input.js';
import { parseDecision } from './decision-schema.js';
import { PolicyLoadError, PolicyLoadErrorCode } from './errors.js';
import { failClosedResult } from './fail-closed.js';
import { memoDeclaration } from './memo-declaration.js';
import type { MemoDeclaration } from './memo-declaration.js';
import { loadPolicySync, REQUIRED_EXPORTS, requiredBuiltins, SDK_BUILTINS } from './opa-wasm.js';
import type { LoadedPolicy } from './opa-wasm.js';
import { bundleRevision } from './revision.js';
import { wasmApi } from './wasm-api.js';
import { WasmEvaluator } from './wasm-evaluator.js';
import type { RawEvaluation, SplitInput } from './wasm-evaluator.js';
import type { WasmMemoryDescriptor, WasmModule } from './wasm-api.js';
import { PolicyFailureCode } from './types.js';
import type { Decision, PolicyFailure, PolicyInput, PolicyResult } from './types.js';

export const DEFAULT_ENTRYPOINT = 'gatehouse/main/decision';

const optionsSchema = z.strictObject({
  /** The entrypoint to evaluate. */
  entrypoint: z.string().min(1).default(DEFAULT_ENTRYPOINT),
  /** Largest JSON-encoded input evaluated; larger inputs are denied without evaluation. */
  maxInputBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(2 * 1024 * 1024),
  /** Wasm memory at start, in 64 KiB pages. */
  initialMemoryPages: z.number().int().min(2).max(65_536).default(32),
  /** Wasm memory limit, in 64 KiB pages (default 2048 = 128 MiB); an evaluation needing more fails closed. */
  maxMemoryPages: z.number().int().min(2).max(65_536).default(2048),
});

/** Engine options; every field optional, defaults in `POLICY_ENGINE_DEFAULTS`. */
export type PolicyEngineOptions = z.input<typeof optionsSchema>;

export const POLICY_ENGINE_DEFAULTS: Readonly<z.output<typeof optionsSchema>> = Object.freeze(
  optionsSchema.parse({}),
);

/** A compiled policy: the wasm module, the data document (JSON bytes) and, optionally, its revision. */
export type PolicyBundle = {
  readonly wasm: Uint8Array;
  readonly data: Uint8Array;
  /** Defaults to `bundleRevision(wasm, data)`. */
  readonly revision?: string;
};

/**
 * An immutable, loaded policy. `evaluate` is synchronous and never throws: any failure (wasm trap, undefined or
 * malformed decision, unencodable or oversized input) returns the fail-closed deny with `failedClosed: true`.
 * To change policy, load a new engine and swap the reference.
 */
export type PolicyEngine = {
  readonly revision: string;
  readonly entrypoint: string;
  /** The bundle's decision memo declaration (`gatehouse.memo`, see memo-declaration.ts); absent or null: none. */
  readonly memo?: MemoDeclaration | null;
  evaluate(input: PolicyInput): PolicyResult;
};

type EngineOptions = z.output<typeof optionsSchema>;

/** Compiles and instantiates a policy bundle. Throws `PolicyLoadError` with a clear message on any problem. */
export async function createPolicyEngine(
  bundle: PolicyBundle,
  options: PolicyEngineOptions = {},
): Promise<PolicyEngine> {
  const parsedOptions = optionsSchema.safeParse(options);
  if (!parsedOptions.success) {
    const problems = parsedOptions.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
    throw new PolicyLoadError(
      PolicyLoadErrorCode.optionsInvalid,
      `invalid policy engine options: ${problems.join('; ')}`,
    );
  }
  const opts = parsedOptions.data;
  if (opts.initialMemoryPages > opts.maxMemoryPages) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.optionsInvalid,
      `invalid policy engine options: initialMemoryPages (${opts.initialMemoryPages}) exceeds maxMemoryPages (${opts.maxMemoryPages})`,
    );
  }
  const data = toArrayBuffer(bundle.data);
  const memo = checkData(data);
  const module = await compileModule(bundle.wasm);

  let policy: LoadedPolicy;
  try {
    policy = loadPolicySync(module, memoryDescriptor(opts));
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm cannot be instantiated: ${describe(err)}`,
      {
        cause: err,
      },
    );
  }
  const minor = Number(policy.minorVersion);
  if (!(minor >= 2)) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm uses OPA wasm ABI 1.${String(policy.minorVersion)}; 1.2 or later is required (rebuild with policies/build.sh)`,
    );
  }
  let builtins: string[];
  try {
    builtins = requiredBuiltins(policy);
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm does not list its built-ins: ${describe(err)}`,
      { cause: err },
    );
  }
  const unsupported = builtins.filter((name) => !SDK_BUILTINS.has(name));
  if (unsupported.length > 0) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.unsupportedBuiltin,
      `policy.wasm calls built-ins the wasm engine cannot evaluate: ${unsupported.join(', ')} (build with policies/build.sh, which checks policies/capabilities.json)`,
    );
  }
  const entrypoints = policy.entrypoints as Record<string, number>;
  const entrypointId = entrypoints[opts.entrypoint];
  if (typeof entrypointId !== 'number') {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.entrypointMissing,
      `policy.wasm has no entrypoint "${opts.entrypoint}" (it has: ${Object.keys(entrypoints).join(', ') || 'none'})`,
    );
  }
  try {
    policy.setData(data);
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.dataInvalid,
      `data.json cannot be loaded into the policy: ${describe(err)}`,
      {
        cause: err,
      },
    );
  }
  if (typeof policy.dataAddr !== 'number' || typeof policy.dataHeapPtr !== 'number') {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      'the wasm SDK did not place the data document where the engine expects it (unsupported @open-policy-agent/opa-wasm version)',
    );
  }
  const revision = bundle.revision ?? bundleRevision(bundle.wasm, bundle.data);
  let evaluator: WasmEvaluator;
  try {
    evaluator = new WasmEvaluator(policy, entrypointId);
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm cannot evaluate: ${describe(err)}`,
      { cause: err },
    );
  }
  return new WasmPolicyEngine({ module, data, evaluator, entrypointId, revision, opts, memo });
}

type EngineState = {
  module: WasmModule;
  data: ArrayBuffer;
  evaluator: WasmEvaluator;
  entrypointId: number;
  revision: string;
  opts: EngineOptions;
  memo: MemoDeclaration | null;
};

class WasmPolicyEngine implements PolicyEngine {
  readonly revision: string;
  readonly entrypoint: string;
  readonly memo: MemoDeclaration | null;
  readonly #module: WasmModule;
  readonly #data: ArrayBuffer;
  readonly #entrypointId: number;
  readonly #opts: EngineOptions;
  #evaluator: WasmEvaluator;
  /** Set after a failed evaluation: the next one starts from a fresh instance (clean memory and globals). */
  #needsReset = false;
  /** Valid decisions by the result JSON they were read from (the same text always validates the same way). */
  readonly #decisions = new DecisionCache();

  constructor(state: EngineState) {
    this.revision = state.revision;
    this.entrypoint = state.opts.entrypoint;
    this.memo = state.memo;
    this.#module = state.module;
    this.#data = state.data;
    this.#entrypointId = state.entrypointId;
    this.#opts = state.opts;
    this.#evaluator = state.evaluator;
    Object.freeze(this);
  }

  evaluate(input: PolicyInput): PolicyResult {
    const started = process.hrtime.bigint();

    // The session parts apart (parsed once per session in wasm), or the whole document as JSON.
    let split: SplitInput | undefined;
    let json: string | undefined;
    try {
      split = splitInput(input);
      if (split === undefined) json = JSON.stringify(input);
    } catch {
      return this.#fail(started, PolicyFailureCode.inputInvalid, 'input cannot be encoded as JSON');
    }
    if (split === undefined && typeof json !== 'string')
      return this.#fail(started, PolicyFailureCode.inputInvalid, 'input is not a JSON value');
    const max = this.#opts.maxInputBytes;
    // UTF-8 never has fewer bytes than UTF-16 code units, so this is a cheap early reject.
    const chars = split === undefined ? json!.length : split.sessionKey.length + split.restJson.length;
    if (chars > max)
      return this.#fail(started, PolicyFailureCode.inputTooLarge, `input exceeds ${max} bytes`);

    let resultSet: unknown;
    let resultJson: string;
    try {
      if (this.#needsReset) {
        this.#evaluator = instantiate(this.#module, this.#opts, this.#data, this.#entrypointId);
        this.#needsReset = false;
      }
      // The input is encoded straight into wasm memory, and its UTF-8 length checked there.
      const raw: RawEvaluation =
        split === undefined
          ? this.#evaluator.evaluateJson(json!, max)
          : this.#evaluator.evaluateSplit(split, max);
      if (!raw.ok) return this.#fail(started, PolicyFailureCode.inputTooLarge, `input exceeds ${max} bytes`);
      resultJson = raw.resultJson;
      const known = this.#decisions.get(resultJson);
      if (known !== undefined) return this.#decided(started, known);
      resultSet = JSON.parse(resultJson);
    } catch (err) {
      this.#needsReset = true;
      return this.#fail(started, PolicyFailureCode.evalFailed, describeEvalError(err));
    }

    if (!Array.isArray(resultSet) || resultSet.length === 0) {
      return this.#fail(started, PolicyFailureCode.decisionUndefined, 'the policy returned no decision');
    }
    if (resultSet.length > 1)
      return this.#fail(started, PolicyFailureCode.decisionInvalid, 'the policy returned several results');
    const first: unknown = resultSet[0];
    const value =
      first !== null && typeof first === 'object' ? (first as { result?: unknown }).result : undefined;
    if (value === undefined)
      return this.#fail(started, PolicyFailureCode.decisionUndefined, 'the policy returned no decision');
    const parsed = parseDecision(value);
    if (!parsed.ok)
      return this.#fail(started, PolicyFailureCode.decisionInvalid, `malformed decision (${parsed.problem})`);
    return this.#decided(started, this.#decisions.remember(resultJson, parsed.decision));
  }

  #decided(started: bigint, decision: Decision): PolicyResult {
    return { failedClosed: false, decision, revision: this.revision, evalMicros: elapsedMicros(started) };
  }

  /** A method, not a closure made on every evaluation. */
  #fail(started: bigint, code: PolicyFailure['code'], message: string): PolicyResult {
    return failClosedResult({ code, message }, this.revision, elapsedMicros(started));
  }
}

function elapsedMicros(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1000;
}

function memoryDescriptor(opts: EngineOptions): WasmMemoryDescriptor {
  return { initial: opts.initialMemoryPages, maximum: opts.maxMemoryPages };
}

function instantiate(
  module: WasmModule,
  opts: EngineOptions,
  data: ArrayBuffer,
  entrypoint: number,
): WasmEvaluator {
  const policy = loadPolicySync(module, memoryDescriptor(opts));
  policy.setData(data);
  return new WasmEvaluator(policy, entrypoint);
}

async function compileModule(wasm: Uint8Array): Promise<WasmModule> {
  const bytes = toArrayBuffer(wasm);
  if (!wasmApi.validate(bytes)) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      'policy.wasm is not a valid WebAssembly module',
    );
  }
  let module: WasmModule;
  try {
    module = await wasmApi.compile(bytes);
  } catch (err) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm does not compile: ${describe(err)}`,
      {
        cause: err,
      },
    );
  }
  const exported = new Set(wasmApi.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
  if (missing.length > 0) {
    throw new PolicyLoadError(
      PolicyLoadErrorCode.wasmInvalid,
      `policy.wasm is not an OPA policy module (missing exports: ${missing.join(', ')})`,
    );
  }
  return module;
}

/** Checks the data document; returns its decision memo declaration (null: none). */
function checkData(data: ArrayBuffer): MemoDeclaration | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new PolicyLoadError(PolicyLoadErrorCode.dataInvalid, 'data.json is not valid UTF-8 JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PolicyLoadError(PolicyLoadErrorCode.dataInvalid, 'data.json must hold a JSON object');
  }
  try {
    return memoDeclaration(value);
  } catch (err) {
    throw new PolicyLoadError(PolicyLoadErrorCode.dataInvalid, `data.json: ${describe(err)}`, { cause: err });
  }
}

/** A standalone ArrayBuffer holding exactly these bytes (the SDK takes ArrayBuffer, not views). */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
  ) {
    return bytes.buffer;
  }
  // Copy explicitly: a Node Buffer's `slice()` is a view, not a copy.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * A short cause for a failed evaluation that never carries input data: OPA's own abort messages (constant texts
 * with a policy location) and wasm trap messages are kept; JavaScript errors (e.g. from SDK built-ins, which may
 * quote their arguments) are reduced to their name.
 */
function describeEvalError(err: unknown): string {
  if (typeof err === 'string') return `policy aborted: ${err}`;
  if (err instanceof wasmApi.RuntimeError) return `wasm trap: ${err.message}`;
  if (err instanceof RangeError) return 'wasm memory limit reached';
  if (err instanceof Error) return `evaluation error (${err.name})`;
  if (err !== null && typeof err === 'object') {
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && message.startsWith('not implemented: built-in function'))
      return message;
  }
  return 'evaluation error';
}

/** Load-time errors come from our own files and the wasm engine; their messages hold no request data. */
function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return 'unknown error';
}
