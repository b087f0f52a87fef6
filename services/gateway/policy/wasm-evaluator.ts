import { exportsOf } from './opa-wasm.js';
import type { LoadedPolicy, PolicyExports } from './opa-wasm.js';
import type { WasmMemory } from './wasm-api.js';

/** Session parts remembered per wasm instance (each ~1 KiB); when full, the region starts over. */
export const SESSION_PARTS_MAX_ENTRIES = 256;
/** Bytes of wasm memory the remembered session parts may take; when full, the region starts over. */
export const SESSION_PARTS_MAX_BYTES = 1024 * 1024;
/** Session parts whose JSON is longer than this (characters) are parsed with every request, not remembered. */
export const SESSION_PARTS_MAX_KEY_LENGTH = 16 * 1024;

/** What an evaluation reports: the result set's JSON text, or an input that does not fit the byte limit. */
export type RawEvaluation = { ok: true; resultJson: string } | { ok: false; inputBytes: number };

/**
 * `input` in two pieces: the session parts (`identity`, `connection`, `session`: the same for every request of a
 * session) as the values to encode, keyed by `sessionKey` (their JSON, `JSON.stringify([identity, connection,
 * session])`), and the rest of the document as JSON (`{"request":…,"time":…,"grants":…}`).
 */
export type SplitInput = {
  readonly sessionKey: string;
  readonly identity: object;
  readonly connection: object;
  readonly session: object;
  readonly restJson: string;
};

/** Where one remembered session's parsed parts are in wasm memory, and their UTF-8 size. */
type SessionParts = { identity: number; connection: number; session: number; bytes: number };

/** `{"identity":` … `,"connection":` … `,"session":` … `,` — the bytes the split input adds to its pieces. */
const SPLIT_OVERHEAD_BYTES = 37;

const utf8 = new TextEncoder();
const WASM_PAGE_BYTES = 64 * 1024;

/**
 * Evaluates one entrypoint in one policy instance (data loaded), the input written straight into wasm memory.
 *
 * The session parts of an input are parsed once per instance and kept below the heap, like the data document: the
 * module's JSON parser is a third of a trivial policy's evaluation, and those parts are two fifths of a typical input.
 * A request then parses only its own part, the parsed session parts are set into it by reference
 * (`opa_value_add_path`), and it is evaluated with the low-level API (`opa_eval_ctx_*` on one context made at start, `eval`, `opa_json_dump`);
 * the evaluation never writes to its input, and every allocation it makes is above the heap base, which is reset
 * before each evaluation. Inputs that are not split evaluate with the ABI 1.2 `opa_eval` export. Methods throw what
 * the module throws (a trap, an OPA abort, a `RangeError` when memory cannot grow); the engine then discards the
 * instance, and with it what it remembered.
 */
export class WasmEvaluator {
  readonly #exports: PolicyExports;
  readonly #mem: WasmMemory;
  readonly #entrypoint: number;
  readonly #dataAddr: number;
  /** The parsed paths `["identity"]`, `["connection"]`, `["session"]`. */
  readonly #paths: readonly [number, number, number];
  /** The evaluation context (below the heap base, like the paths). */
  readonly #ctx: number;
  /** Start of the remembered session parts (after the data document, the paths and the context). */
  readonly #partsBase: number;
  /** The heap base of every evaluation: after the remembered session parts. */
  #heapBase: number;
  readonly #parts = new Map<string, SessionParts>();

  constructor(policy: LoadedPolicy, entrypoint: number) {
    const { dataAddr, dataHeapPtr } = policy;
    if (typeof dataAddr !== 'number' || typeof dataHeapPtr !== 'number') {
      throw new TypeError('the policy has no data loaded');
    }
    this.#exports = exportsOf(policy);
    this.#mem = policy.mem;
    this.#entrypoint = entrypoint;
    this.#dataAddr = dataAddr;
    this.#exports.opa_heap_ptr_set(dataHeapPtr);
    this.#paths = [this.#parse('["identity"]'), this.#parse('["connection"]'), this.#parse('["session"]')];
    // One evaluation context for every split evaluation: data and entrypoint set once, the input and result each time.
    const e = this.#exports;
    this.#ctx = e.opa_eval_ctx_new();
    e.opa_eval_ctx_set_data(this.#ctx, dataAddr);
    e.opa_eval_ctx_set_entrypoint(this.#ctx, entrypoint);
    this.#partsBase = e.opa_heap_ptr_get();
    this.#heapBase = this.#partsBase;
  }

  /** Session parts remembered now. */
  get rememberedSessions(): number {
    return this.#parts.size;
  }

  /** Evaluates the JSON input document through `opa_eval`. */
  evaluateJson(inputJson: string, maxInputBytes: number): RawEvaluation {
    const inputAddr = this.#heapBase;
    const written = this.#write(inputJson, inputAddr, maxInputBytes);
    if (written > maxInputBytes) return { ok: false, inputBytes: written };
    const e = this.#exports;
    const resultAddr = e.opa_eval(
      0,
      this.#entrypoint,
      this.#dataAddr,
      inputAddr,
      written,
      inputAddr + written,
      0,
    );
    return { ok: true, resultJson: this.#readString(resultAddr) };
  }

  /** Evaluates a split input: its session parts parsed once (remembered by `sessionKey`), its rest every time. */
  evaluateSplit(input: SplitInput, maxInputBytes: number): RawEvaluation {
    const parts = this.#sessionParts(input);
    if (parts === undefined) {
      // Too large to remember: the whole document, as JSON.stringify(input) would write it.
      const { identity, connection, session, restJson } = input;
      const json = `{"identity":${JSON.stringify(identity)},"connection":${JSON.stringify(connection)},"session":${JSON.stringify(session)},${restJson.slice(1)}`;
      return this.evaluateJson(json, maxInputBytes);
    }
    const restAddr = this.#heapBase;
    const room = maxInputBytes - parts.bytes - SPLIT_OVERHEAD_BYTES;
    const written = this.#write(input.restJson, restAddr, Math.max(0, room));
    if (written > room) return { ok: false, inputBytes: written + parts.bytes + SPLIT_OVERHEAD_BYTES };
    const e = this.#exports;
    e.opa_heap_ptr_set(restAddr + written);
    const doc = e.opa_json_parse(restAddr, written);
    if (doc === 0) throw new TypeError('the input is not JSON');
    const [identityPath, connectionPath, sessionPath] = this.#paths;
    if (
      e.opa_value_add_path(doc, identityPath, parts.identity) !== 0 ||
      e.opa_value_add_path(doc, connectionPath, parts.connection) !== 0 ||
      e.opa_value_add_path(doc, sessionPath, parts.session) !== 0
    ) {
      throw new TypeError('the input is not a JSON object');
    }
    const ctx = this.#ctx;
    e.opa_eval_ctx_set_input(ctx, doc);
    e.eval(ctx);
    return { ok: true, resultJson: this.#readString(e.opa_json_dump(e.opa_eval_ctx_get_result(ctx))) };
  }

  /** The remembered parsed session parts of `input`, parsing them now if needed; undefined: too large to keep. */
  #sessionParts(input: SplitInput): SessionParts | undefined {
    const known = this.#parts.get(input.sessionKey);
    if (known !== undefined) return known;
    if (input.sessionKey.length > SESSION_PARTS_MAX_KEY_LENGTH) return undefined;
    if (
      this.#parts.size >= SESSION_PARTS_MAX_ENTRIES ||
      this.#heapBase - this.#partsBase > SESSION_PARTS_MAX_BYTES
    ) {
      // Start over: nothing refers to the old parts any more (each evaluation sets them into its own input).
      this.#parts.clear();
      this.#heapBase = this.#partsBase;
    }
    this.#exports.opa_heap_ptr_set(this.#heapBase);
    const identity = JSON.stringify(input.identity);
    const connection = JSON.stringify(input.connection);
    const session = JSON.stringify(input.session);
    const parts: SessionParts = {
      identity: this.#parse(identity),
      connection: this.#parse(connection),
      session: this.#parse(session),
      bytes:
        Buffer.byteLength(identity, 'utf8') +
        Buffer.byteLength(connection, 'utf8') +
        Buffer.byteLength(session, 'utf8'),
    };
    this.#heapBase = this.#exports.opa_heap_ptr_get();
    this.#parts.set(input.sessionKey, parts);
    return parts;
  }

  /** Parses `json` into a value allocated on the heap as it stands (its text kept: parsed values refer to it). */
  #parse(json: string): number {
    const length = Buffer.byteLength(json, 'utf8');
    const addr = this.#exports.opa_malloc(length);
    utf8.encodeInto(json, new Uint8Array(this.#mem.buffer, addr, length));
    const value = this.#exports.opa_json_parse(addr, length);
    if (value === 0) throw new TypeError('the input is not JSON');
    return value;
  }

  /**
   * Writes `text` as UTF-8 at `addr`, growing the memory by what it needs unless it is over `maxBytes` anyway;
   * returns the bytes written (more than `maxBytes`: not written whole, do not evaluate).
   */
  #write(text: string, addr: number, maxBytes: number): number {
    let memory = new Uint8Array(this.#mem.buffer);
    let { read, written } = utf8.encodeInto(text, memory.subarray(addr));
    if (read < text.length) {
      const needed = Buffer.byteLength(text, 'utf8');
      if (needed > maxBytes) return needed;
      this.#mem.grow(Math.ceil((addr + needed - memory.byteLength) / WASM_PAGE_BYTES));
      memory = new Uint8Array(this.#mem.buffer);
      ({ read, written } = utf8.encodeInto(text, memory.subarray(addr)));
    }
    return written;
  }

  /**
   * The NUL-terminated string at `addr`, through a Buffer view of the memory's current buffer (it is replaced when
   * the memory grows): its indexOf is memchr and its toString a native UTF-8 decode.
   */
  #readString(addr: number): string {
    const bytes = bufferOf(this.#mem.buffer);
    const end = bytes.indexOf(0, addr);
    return bytes.toString('utf8', addr, end < 0 ? bytes.length : end);
  }
}

/** Buffer views of wasm memory buffers (old buffers, replaced when a memory grows, are collected). */
const buffers = new WeakMap<ArrayBuffer, Buffer>();

function bufferOf(buffer: ArrayBuffer): Buffer {
  let view = buffers.get(buffer);
  if (view === undefined) buffers.set(buffer, (view = Buffer.from(buffer)));
  return view;
}
