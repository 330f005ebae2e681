// Shared by run.mjs and every case script: the workloads, the FLOP convention, the timing loops and
// the child-process protocol (a case prints exactly one JSON line on stdout, logs go to stderr).

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';

/** bench/models/lstm-I..-seed1.<ext>: a peer's cached file for a workload (ONNX model, oneDNN data). */
export function workloadFile({ I, H, L, B, T }, ext) {
  return new URL(`../models/lstm-I${I}-H${H}-L${L}-B${B}-T${T}-seed1.${ext}`, import.meta.url).pathname;
}

/** bench/models/<name>.lstmcase: the oneDNN peer's data for a workload (cases/onednn.mjs writes it). */
export const lstmCasePath = (shape) => workloadFile(shape, 'lstmcase');

/** Writes a cached file whole or not at all (a killed prepare step leaves no half file behind). */
export function writeFileAtomic(file, bytes) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file + '.tmp', bytes);
  renameSync(file + '.tmp', file);
}

/** The issue's workloads. float32, 2 threads unless --threads says otherwise. */
export const WORKLOADS = {
  W1: { I: 64, H: 256, L: 1, B: 32, T: 100, title: 'W1 inference (I 64, H 256, 1 layer, B 32, T 100)' },
  W3: { I: 512, H: 512, L: 2, B: 64, T: 50, title: 'W3 inference (I 512, H 512, 2 layers, B 64, T 50)' },
  W4: { I: 32, H: 128, L: 1, B: 1, T: 50, title: 'W4 latency (I 32, H 128, B 1, T 50, forward)' },
};

/**
 * The benchmark cases: a workload's shapes and a mode. 'train' = forward, MSE on the last layer's
 * final h against a fixed random target, backward, Adam step (lr 1e-3).
 */
export const CASES = {
  W1: { shapes: 'W1', mode: 'forward', title: WORKLOADS.W1.title },
  W2: { shapes: 'W1', mode: 'train', title: 'W2 training step (W1 shapes, MSE on last h, Adam)' },
  W3: { shapes: 'W3', mode: 'forward', title: WORKLOADS.W3.title },
  W3t: { shapes: 'W3', mode: 'train', title: 'W3 training step (W3 shapes, MSE on last h, Adam)' },
  W4: { shapes: 'W4', mode: 'forward', title: WORKLOADS.W4.title, latency: true },
};
export const CASE_ORDER = ['W1', 'W2', 'W3', 'W3t', 'W4'];

/** Forward FLOPs of one batch: 2 * 4H * (I_l + H) per step, sample and layer (gate GEMMs only). */
export function fwdFlops({ I, H, L, B, T }) {
  let f = 0;
  for (let l = 0; l < L; l++) f += 2 * 4 * H * ((l === 0 ? I : H) + H);
  return f * T * B;
}

/** FLOPs of one call of a case: 3x the forward count for a training step. */
export function caseFlops(shape, mode) {
  return (mode === 'train' ? 3 : 1) * fwdFlops(shape);
}

export const now = () => Number(process.hrtime.bigint()) / 1e9;

export function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Seconds per call of `fn` (sync or async): warm-up (`warmup` calls, then more calls for
 * `warmupSec` seconds unless one call takes that long: a process's heap grows to its steady size
 * over the first garbage collections, and the page faults of that growth would otherwise land in
 * the first repetitions), then `reps` timed repetitions of `iters` calls,
 * each repetition lasting >= minTime seconds; median and best over repetitions. Slow calls shrink
 * the number of repetitions so the timed part stays under maxSec (at least one repetition).
 */
export async function timeit(fn, { reps = 7, minTime = 0.5, maxSec = 30, warmup = 2, warmupSec = 1 } = {}) {
  let t0 = now();
  await fn();
  let one = now() - t0;
  if (one < 2 && warmup > 1) {
    t0 = now();
    for (let i = 1; i < warmup; i++) await fn();
    one = (now() - t0) / (warmup - 1);
  }
  for (t0 = now(); one < warmupSec && now() - t0 < warmupSec;) await fn();
  const { iters, runs } = repetitions(one, reps, minTime, maxSec);
  const perRep = [];
  const f0 = minorFaults();
  for (let r = 0; r < runs; r++) {
    const t = now();
    for (let i = 0; i < iters; i++) await fn();
    perRep.push((now() - t) / iters);
  }
  return summary(perRep, runs, iters, minorFaults() - f0);
}

/** The same for a synchronous function, with no await in the loop (for sub-millisecond calls). */
export function timeitSync(fn, { reps = 7, minTime = 0.5, maxSec = 30, warmup = 2, warmupSec = 1 } = {}) {
  let t0 = now();
  fn();
  let one = now() - t0;
  if (one < 2 && warmup > 1) {
    t0 = now();
    for (let i = 1; i < warmup; i++) fn();
    one = (now() - t0) / (warmup - 1);
  }
  for (t0 = now(); one < warmupSec && now() - t0 < warmupSec;) fn();
  const { iters, runs } = repetitions(one, reps, minTime, maxSec);
  const perRep = [];
  const f0 = minorFaults();
  for (let r = 0; r < runs; r++) {
    const t = now();
    for (let i = 0; i < iters; i++) fn();
    perRep.push((now() - t) / iters);
  }
  return summary(perRep, runs, iters, minorFaults() - f0);
}

/** Calls per repetition (>= minTime s each) and repetitions (fewer for slow calls, so the total stays under maxSec). */
function repetitions(one, reps, minTime, maxSec) {
  const iters = Math.max(1, Math.ceil(minTime / Math.max(one, 1e-7)));
  const runs = one * iters * reps > maxSec ? Math.max(1, Math.floor(maxSec / (one * iters))) : reps;
  return { iters, runs };
}

/**
 * Minor page faults of this process so far. A call that writes into memory the system has to
 * hand out again (glibc returned it at a heap trim) pays one fault per 4 KiB page, about 3 us
 * each on the reference VM: the results report them per call.
 */
const minorFaults = () => process.resourceUsage().minorPageFault;

function summary(perRep, runs, iters, faults) {
  return { sec: median(perRep), best: Math.min(...perRep), reps: runs, iters, perRep, faultsPerCall: faults / (runs * iters) };
}

/** Deterministic inputs in [-1, 1] (no RNG state shared between systems). */
export function sinData(n, phase = 0.37) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * phase);
  return a;
}

/** Uniform in [-1, 1) from an LCG: the same numbers for every system given the same seed. */
export function lcgData(n, seed = 1) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 2 - 1;
  }
  return a;
}

/** A result for one timed case, in the shape run.mjs collects. */
export function caseResult(shape, mode, t, extra = {}) {
  const batch = extra.batch ?? shape.B; // sequences per timed call
  return {
    sec_per_call: t.sec, best_sec: t.best, reps: t.reps, iters: t.iters,
    seq_per_s: batch / t.sec,
    gflops: caseFlops({ ...shape, B: batch }, mode) / t.sec / 1e9,
    ms_per_seq: (t.sec / batch) * 1e3,
    ...(t.faultsPerCall !== undefined ? { faults_per_call: Math.round(t.faultsPerCall) } : {}),
    ...extra,
  };
}

/** Child side: reads the one JSON argument. */
export function childSpec() {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: node <case>.mjs \'{"case":"W1",...}\' (run.mjs starts these)');
  return JSON.parse(arg);
}

/** Child side: prints the result line (the last stdout line is what run.mjs reads). */
export function emit(obj) {
  process.stdout.write('\n' + JSON.stringify(obj) + '\n');
}

/** Child side: runs main(), turning any exception into { error } and exit code 1. */
export function runChild(main) {
  Promise.resolve()
    .then(main)
    .then((r) => { emit({ ok: true, ...r }); })
    .catch((err) => {
      emit({ ok: false, error: String((err && err.message) || err).split('\n')[0] });
      process.exitCode = 1;
    });
}

/** The SIMD-related CPU flags a result depends on (from /proc/cpuinfo). */
const ISA_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'asimd', 'sve'];

/**
 * AMD's microarchitecture from the CPU family and model (AMD's published family/model ranges),
 * so a label says Zen 3 or Zen 4 even where a VM hides the model name; null when not known.
 */
function amdCore(family, model) {
  if (family === 0x17) return model >= 0x30 ? 'Zen 2' : 'Zen / Zen+';
  if (family === 0x19) {
    const zen4 = (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f) || (model >= 0xa0 && model <= 0xaf);
    return zen4 ? 'Zen 4' : 'Zen 3';
  }
  if (family === 0x1a) return 'Zen 5';
  return null;
}

/**
 * The CPU this process runs on: vendor, model name, family, model and stepping numbers, and the
 * SIMD flags, from /proc/cpuinfo (Linux; elsewhere only what os.cpus() tells).
 */
export function cpuInfo() {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
  return parseCpuinfo(text, cpus()[0]?.model ?? 'unknown', cpus().length);
}

/** cpuInfo() from the text of /proc/cpuinfo (its first processor's block). */
export function parseCpuinfo(text, fallbackModel = 'unknown', logicalCores = 1) {
  const first = text.split(/\n\n/)[0];
  const field = (name) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim() ?? null;
  const num = (v) => (v === null ? null : Number(v));
  const info = {
    vendor: field('vendor_id') ?? field('CPU implementer'), modelName: field('model name') ?? fallbackModel,
    family: num(field('cpu family')), model: num(field('model')), stepping: num(field('stepping')), core: null,
    flags: [], logicalCores,
  };
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/);
  info.flags = ISA_FLAGS.filter((f) => flags.includes(f));
  if (info.vendor === 'AuthenticAMD' && info.family !== null) info.core = amdCore(info.family, info.model);
  return info;
}

/**
 * One line naming the machine and the code path of a result: CPU model, core, family and model
 * numbers, its SIMD flags, and the ISA and GEMM lstm-native dispatches to, e.g.
 * `AMD EPYC (Zen 3, family 25 model 1; avx avx2 fma), lstm-native ISA avx2, GEMM openblas, 2 threads`.
 * Results with different labels come from different machines or paths and are never compared.
 */
export function machineLabel(cpu, backend) {
  const what = [cpu.core, cpu.family !== null ? `family ${cpu.family} model ${cpu.model}` : null].filter(Boolean).join(', ');
  const flags = cpu.flags.filter((f) => f !== 'sse4_2').join(' ');
  const head = `${cpu.modelName}${what || flags ? ` (${[what, flags].filter(Boolean).join('; ')})` : ''}`;
  return backend ? `${head}, lstm-native ISA ${backend.isa}, GEMM ${backend.blas}, ${backend.threads} threads` : head;
}
