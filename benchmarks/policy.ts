/**
 * Policy evaluation on the real bundle (policies/ built by policies/build.sh, as the gateway loads it): the
 * gateway's in-process engine in a tight loop vs OPA's own server (`opa run --server`, the same Rego and data) over
 * HTTP with keep-alive, on the same inputs (SQL analysed by the real parser, SSH, MCP, HTTP requests). Prints
 * p50/p99 per input and overall, CPU per evaluation, and the ratio; checks both give the same decisions. Beside the
 * real bundle, an "opa-wasm floor" row: a trivial policy (a constant decision of the same shape that reads one input
 * field) built and evaluated the same way on the same inputs — the fixed cost of one evaluation (encoding the input,
 * parsing it inside wasm, writing and reading the result), whatever the rules.
 *
 *   npm run stack:up && npm run bench:policy -- [--iterations 20000] [--opa-iterations 4000] [--opa-port 21020]
 *     [--baseline CHECKOUT [--differential 30000]] [--json FILE]
 *
 * `--baseline CHECKOUT` (a built checkout, e.g. of main) also loads that checkout's engine on the same bundle: it
 * checks both engines give the same results on `--differential` generated inputs (every protocol, sessions that
 * repeat, frozen and plain parts, malformed and oversized inputs) and times them against each other in one process
 * (alternating blocks of the seven inputs; process CPU per evaluation).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_ENTRYPOINT, loadPolicyBundle } from '../services/gateway/policy/index.js';
import type { PolicyEngine, PolicyInput } from '../services/gateway/policy/index.js';
import { buildPolicyBundle } from '../test/support/gateway.js';
import { PROJECT_ROOT, stackValue } from '../test/support/stack.js';
import { BENCH_PORTS } from './support/gatehouse-services.js';
import { startOpaServer } from './support/opa-server.js';
import type { OpaServer } from './support/opa-server.js';
import { benchInputs, generatedInputs } from './support/policy-inputs.js';
import type { NamedInput } from './support/policy-inputs.js';
import { processCpuMicros } from './support/proc-cpu.js';
import { check, fmt, printTable, printTargets, writeJson } from './support/report.js';
import { distribution } from './support/stats.js';
import type { Distribution } from './support/stats.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20000' },
    'opa-iterations': { type: 'string', default: '4000' },
    warmup: { type: 'string', default: '2000' },
    'opa-port': { type: 'string', default: String(BENCH_PORTS.opa) },
    json: { type: 'string' },
    baseline: { type: 'string' },
    differential: { type: 'string', default: '30000' },
  },
});
const iterations = Number(values.iterations);
const opaIterations = Number(values['opa-iterations']);
const warmup = Number(values.warmup);

/** Per-input and overall latencies (µs) of `iterations` calls cycling through the inputs. */
type Loop = {
  overall: Distribution;
  perInput: Distribution[];
  cpuPerEvalMicros: number;
  opaCpuPerEvalMicros?: number;
};

function cpuMicrosOfThisProcess(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function timedLoop(
  inputs: readonly NamedInput[],
  n: number,
  call: (input: PolicyInput) => unknown,
  serverPid?: number,
): Promise<Loop> {
  const samples: number[][] = inputs.map(() => []);
  const cpu0 = cpuMicrosOfThisProcess();
  const server0 = serverPid === undefined ? undefined : processCpuMicros(serverPid);
  for (let i = 0; i < n; i++) {
    const k = i % inputs.length;
    const t0 = process.hrtime.bigint();
    const r = call(inputs[k]!.input);
    if (r instanceof Promise) await r;
    samples[k]!.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const cpu = cpuMicrosOfThisProcess() - cpu0;
  const server1 = serverPid === undefined ? undefined : processCpuMicros(serverPid);
  return {
    overall: distribution(samples.flat()),
    perInput: samples.map((s) => distribution(s)),
    cpuPerEvalMicros: cpu / n,
    ...(server0 !== undefined && server1 !== undefined
      ? { opaCpuPerEvalMicros: (server1 - server0) / n }
      : {}),
  };
}

/**
 * CPU time (this process, getrusage) of each of `n` synchronous calls: unlike wall time, it leaves out the time the
 * process waited for a core, so its p99 means something on a loaded machine too.
 */
function cpuTimeLoop(
  inputs: readonly NamedInput[],
  n: number,
  call: (input: PolicyInput) => unknown,
): Distribution {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const before = process.cpuUsage();
    call(inputs[i % inputs.length]!.input);
    const used = process.cpuUsage(before);
    samples.push(used.user + used.system);
  }
  return distribution(samples);
}

/**
 * The floor policy: the entrypoint's decision as a constant of the shipped policy's shape (the pgbench SELECT's
 * decision) that reads one input field, so the input is parsed and the result written as for the real bundle.
 */
const FLOOR_REGO = `package gatehouse.main

decision := {
	"allow": input.request.kind != "",
	"reasons": ["read-only statements are allowed"],
	"approval": {"required": false, "groups": [], "approvals_needed": 0, "ttl_seconds": 0, "reuse_seconds": 0},
	"mask": {
		"columns": ["customers.card_number", "customers.email", "customers.phone", "customers.ssn"],
		"fields": [],
		"detectors": ["card", "email", "national_id", "phone", "secret"],
	},
	"audit": "batched",
	"grants_used": [],
}
`;

/** Builds the floor policy with policies/build.sh (as the real bundle) into `dir`; returns the bundle folder. */
function buildFloorBundle(dir: string): string {
  const src = join(dir, 'floor-src', 'gatehouse');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'main.rego'), FLOOR_REGO);
  writeFileSync(join(src, 'data.json'), '{}');
  const out = join(dir, 'floor-bundle');
  execFileSync('bash', [join(PROJECT_ROOT, 'policies', 'build.sh'), out, src], {
    env: { ...process.env, OPA_BIN: stackValue('OPA_BIN') },
    stdio: 'pipe',
  });
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-policy-'));
const loadBefore = loadavg();
const bundleDir = buildPolicyBundle();
const engine = await loadPolicyBundle(bundleDir);
const floorEngine = await loadPolicyBundle(buildFloorBundle(dir));
const inputs = await benchInputs();
const opa: OpaServer = await startOpaServer({
  revision: engine.revision,
  dir,
  port: Number(values['opa-port']),
  entrypoint: DEFAULT_ENTRYPOINT,
  readyTimeoutMs: 30_000,
});

let wasm: Loop;
let wasmCpu: Distribution;
let floor: Loop;
let floorCpu: Distribution;
let http: Loop;
let opaEval: Distribution;
let opaHandler: Distribution;
const decisions: { name: string; gatehouse: string; opa: string; same: boolean }[] = [];
try {
  // The same decisions from both, or the comparison means nothing.
  for (const { name, input } of inputs) {
    const ours = engine.evaluate(input);
    const theirs = (await opa.evaluate(input)).result as {
      allow?: unknown;
      approval?: { required?: unknown };
    };
    const summary = (allow: unknown, approval: unknown) =>
      `allow=${String(allow)} approval=${String(approval)}`;
    const g = ours.failedClosed
      ? `failed closed: ${ours.decision.reasons.join('; ')}`
      : summary(ours.decision.allow, ours.decision.approval.required);
    const o = summary(theirs?.allow, theirs?.approval?.required);
    decisions.push({ name, gatehouse: g, opa: o, same: g === o });
  }
  for (const { name, input } of inputs) {
    const r = floorEngine.evaluate(input);
    if (r.failedClosed)
      throw new Error(`the floor policy failed on ${name}: ${r.decision.reasons.join('; ')}`);
  }
  await timedLoop(inputs, warmup, (i) => engine.evaluate(i));
  await timedLoop(inputs, warmup, (i) => floorEngine.evaluate(i));
  wasm = await timedLoop(inputs, iterations, (i) => engine.evaluate(i));
  floor = await timedLoop(inputs, iterations, (i) => floorEngine.evaluate(i));
  wasmCpu = cpuTimeLoop(inputs, iterations, (i) => engine.evaluate(i));
  floorCpu = cpuTimeLoop(inputs, iterations, (i) => floorEngine.evaluate(i));
  await timedLoop(inputs, Math.min(warmup, 500), (i) => opa.evaluate(i));
  http = await timedLoop(inputs, opaIterations, (i) => opa.evaluate(i), opa.pid);
  // OPA's own timers, from a shorter pass (asking for them costs a little).
  const evalNs: number[] = [];
  const handlerNs: number[] = [];
  for (let i = 0; i < Math.min(opaIterations, 1000); i++) {
    const m = (await opa.evaluate(inputs[i % inputs.length]!.input, true)).metrics ?? {};
    evalNs.push((m.timer_rego_query_eval_ns ?? NaN) / 1000);
    handlerNs.push((m.timer_server_handler_ns ?? NaN) / 1000);
  }
  opaEval = distribution(evalNs);
  opaHandler = distribution(handlerNs);
} finally {
  await opa.close();
  await opa.stop();
}
const loadAfter = loadavg();

console.log(`\npolicy evaluation on the real bundle (revision ${engine.revision}), ${inputs.length} inputs`);
console.log(
  `Gatehouse: in-process engine, ${iterations} evaluations; OPA: opa run --server, ${opaIterations} requests over one keep-alive HTTP connection\n`,
);
const cols = [
  { header: 'input', width: 36, align: 'left' as const },
  { header: 'gh p50', width: 7 },
  { header: 'gh p99', width: 7 },
  { header: 'opa p50', width: 8 },
  { header: 'opa p99', width: 8 },
  { header: 'ratio p50', width: 9 },
  { header: 'decision (both)', width: 0, align: 'left' as const },
];
printTable(cols, [
  ...inputs.map((x, k) => [
    x.name,
    fmt(wasm.perInput[k]!.p50, 1),
    fmt(wasm.perInput[k]!.p99, 1),
    fmt(http.perInput[k]!.p50, 0),
    fmt(http.perInput[k]!.p99, 0),
    `${fmt(http.perInput[k]!.p50 / wasm.perInput[k]!.p50, 1)}x`,
    decisions[k]!.same
      ? decisions[k]!.gatehouse
      : `DIFFERENT: gatehouse ${decisions[k]!.gatehouse}, opa ${decisions[k]!.opa}`,
  ]),
  [
    'all',
    fmt(wasm.overall.p50, 1),
    fmt(wasm.overall.p99, 1),
    fmt(http.overall.p50, 0),
    fmt(http.overall.p99, 0),
    `${fmt(http.overall.p50 / wasm.overall.p50, 1)}x`,
    '',
  ],
  [
    'opa-wasm floor (trivial policy, all)',
    fmt(floor.overall.p50, 1),
    fmt(floor.overall.p99, 1),
    '',
    '',
    '',
    'constant decision, same engine and inputs',
  ],
]);
console.log(
  `\nµs; CPU per evaluation: Gatehouse ${fmt(wasm.cpuPerEvalMicros, 1)} µs; OPA server ${fmt(http.opaCpuPerEvalMicros, 1)} µs ` +
    `+ its HTTP client here ${fmt(http.cpuPerEvalMicros, 1)} µs. OPA's own timers: query eval p50 ${fmt(opaEval.p50, 1)} ` +
    `p99 ${fmt(opaEval.p99, 1)} µs, server handler p50 ${fmt(opaHandler.p50, 1)} p99 ${fmt(opaHandler.p99, 1)} µs`,
);
console.log(
  `Gatehouse process CPU time per evaluation (getrusage around each call, all threads; waiting for a core left out): ` +
    `p50 ${fmt(wasmCpu.p50, 0)} µs, p99 ${fmt(wasmCpu.p99, 0)} µs`,
);
console.log(
  `opa-wasm floor (the fixed cost of one evaluation, whatever the rules): p50 ${fmt(floor.overall.p50, 1)} µs, ` +
    `p99 ${fmt(floor.overall.p99, 1)} µs, CPU ${fmt(floor.cpuPerEvalMicros, 1)} µs per evaluation, CPU time p50 ` +
    `${fmt(floorCpu.p50, 0)} µs; the rules of the real bundle add p50 ${fmt(wasm.overall.p50 - floor.overall.p50, 1)} µs`,
);
const same = decisions.every((d) => d.same);
if (!same) console.log('WARNING: the two engines disagree on some inputs (see the decision column)');
const targets = [
  check('Gatehouse policy evaluation p50', wasm.overall.p50, 20, 'µs'),
  check('Gatehouse policy evaluation p99', wasm.overall.p99, 100, 'µs'),
  check('OPA server over HTTP p50 / Gatehouse p50', http.overall.p50 / wasm.overall.p50, 10, 'x'),
];
printTargets(targets);
console.log(
  `\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
);
type Engine = Pick<PolicyEngine, 'evaluate'>;
type Baseline = {
  differences: number;
  inputs: number;
  outcomes: Record<string, number>;
  cpu: [number, number];
};

/** A result as the differential compares it: fail-closed or not, the decision, the failure code. */
function resultText(r: ReturnType<PolicyEngine['evaluate']>): string {
  return JSON.stringify([r.failedClosed, r.decision, r.failedClosed ? r.failure.code : null]);
}

/** Median process CPU per evaluation (µs) of each engine, in alternating blocks of the bench inputs. */
function alternatingCpu(engines: readonly Engine[], blocks: number, perBlock: number): number[] {
  const samples: number[][] = engines.map(() => []);
  for (let b = 0; b < blocks; b++) {
    engines.forEach((engine, k) => {
      const before = process.cpuUsage();
      for (let i = 0; i < perBlock; i++) engine.evaluate(inputs[i % inputs.length]!.input);
      const used = process.cpuUsage(before);
      samples[k]!.push((used.user + used.system) / perBlock);
    });
  }
  return samples.map((s) => distribution(s).p50);
}

/** The baseline checkout's engine against this one: same results on generated inputs, and CPU per evaluation. */
async function compareWithBaseline(checkout: string, count: number): Promise<Baseline> {
  const url = pathToFileURL(join(checkout, 'services', 'gateway', 'policy', 'index.ts')).href;
  const theirs = (await import(url)) as { loadPolicyBundle: typeof loadPolicyBundle };
  const tightLimit = { maxInputBytes: 2048 };
  const [base, baseTight, tight] = await Promise.all([
    theirs.loadPolicyBundle(bundleDir),
    theirs.loadPolicyBundle(bundleDir, tightLimit),
    loadPolicyBundle(bundleDir, tightLimit),
  ]);
  let differences = 0;
  const outcomes: Record<string, number> = {};
  for (const input of await generatedInputs(count, 1)) {
    const large = (JSON.stringify(input) ?? '').length > 1800;
    const a = (large ? baseTight : base).evaluate(input);
    const b = (large ? tight : engine).evaluate(input);
    const outcome = a.failedClosed
      ? a.failure.code
      : a.decision.allow
        ? 'allow'
        : a.decision.approval.required
          ? 'approval'
          : 'deny';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (resultText(a) !== resultText(b)) differences++;
  }
  alternatingCpu([base, engine], 2, 2000);
  const [baseCpu = NaN, ourCpu = NaN] = alternatingCpu([base, engine], 10, 5000);
  return { differences, inputs: count, outcomes, cpu: [baseCpu, ourCpu] };
}

const baseline =
  values.baseline === undefined
    ? undefined
    : await compareWithBaseline(values.baseline, Number(values.differential));
if (baseline) {
  console.log(
    `\nbaseline ${values.baseline}: ${baseline.differences} different results on ${baseline.inputs} generated inputs ` +
      `(${Object.entries(baseline.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}); CPU per evaluation (alternating blocks, median): baseline ${fmt(baseline.cpu[0], 1)} µs, ` +
      `this checkout ${fmt(baseline.cpu[1], 1)} µs`,
  );
}
if (values.json) {
  writeJson(values.json, {
    bench: 'policy',
    at: new Date().toISOString(),
    revision: engine.revision,
    options: { iterations, opaIterations, warmup },
    loadAverage: { before: loadBefore, after: loadAfter },
    inputs: inputs.map((x, k) => ({
      name: x.name,
      gatehouse: wasm.perInput[k],
      opa: http.perInput[k],
      decision: decisions[k],
    })),
    gatehouse: wasm,
    gatehouseCpuTime: wasmCpu,
    floor,
    floorCpuTime: floorCpu,
    opaHttp: http,
    opaTimers: { queryEvalMicros: opaEval, serverHandlerMicros: opaHandler },
    sameDecisions: same,
    targets,
    ...(baseline ? { baseline } : {}),
  });
}
process.exit(0);
