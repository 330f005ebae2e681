// lstm-native in one child process: one workload case, one grid point, the GEMM limits, or the
// machine info. Loaded from ../../dist (the built package), never installed.
//   node cases/ours.mjs '{"kind":"case","case":"W1","threads":2,"reps":7,"minTime":0.5}'
//   node cases/ours.mjs '{"kind":"grid","I":256,"H":256,"B":32,"T":100,...}'
//   node cases/ours.mjs '{"kind":"gemm","shapes":[[32,1024,320,"W1"],...],"runs":7,"minMs":30}'
//   node cases/ours.mjs '{"kind":"info","threads":2}'
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CASES, WORKLOADS, caseResult, childSpec, lcgData, now, runChild, sinData, timeitSync, median } from '../lib/common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = childSpec();

async function loadOurs() {
  return import(new URL('../../dist/index.js', import.meta.url).href);
}

/**
 * The test addon, for the `_gemm` hook (not in the shipped addon): built with the shipped one by
 * `node scripts/build-native.mjs --test-hooks`, from the same sources and backend.
 */
function loadAddon() {
  const require = createRequire(join(root, 'package.json'));
  return require('node-gyp-build')(join(process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build'), 'test-hooks'));
}

/**
 * The training step's optimizer: lstm-native's Adam when lib/index.ts exports it and it works,
 * else plain SGD on lstm.parameters() (said so in the result).
 */
function makeOptimizer(mod, lstm) {
  const lr = 1e-3;
  if (typeof mod.Adam === 'function') {
    const tries = [() => new mod.Adam(lstm.parameters(), { lr }), () => new mod.Adam(lstm, { lr }),
      () => new mod.Adam(lstm.parameters(), lr)];
    for (const make of tries) {
      try {
        const opt = make();
        if (opt && typeof opt.step === 'function') return { name: 'Adam', step: () => opt.step() };
      } catch { /* next signature */ }
    }
  }
  const p = lstm.parameters();
  const v = p.values, g = p.grads;
  return {
    name: 'SGD (hand-written: lstm-native does not export Adam yet)',
    step: () => { for (let i = 0; i < v.length; i++) v[i] -= lr * g[i]; },
  };
}

/** MSE(pred, target) and its gradient: lstm-native's `losses` when exported, else by hand. */
function makeLoss(mod, B, H, target) {
  const losses = mod.losses;
  const targetT = mod.tensor(target, [B, H]);
  for (const name of ['mse', 'mseLoss', 'meanSquaredError', 'MSELoss']) {
    const fn = losses && losses[name];
    if (typeof fn !== 'function') continue;
    try {
      const probe = fn(mod.tensor(new Float32Array(B * H), [B, H]), targetT);
      const grad = probe && (probe.grad?.data ?? probe.grad);
      if (grad instanceof Float32Array && grad.length === B * H) {
        return { name: `losses.${name}`, grad: (pred) => { const r = fn(mod.tensor(pred, [B, H]), targetT); return r.grad.data ?? r.grad; } };
      }
    } catch { /* fall through */ }
  }
  const out = new Float32Array(B * H);
  const s = 2 / (B * H);
  return {
    name: 'MSE gradient by hand (lstm-native does not export losses yet)',
    grad: (pred) => { for (let i = 0; i < out.length; i++) out[i] = s * (pred[i] - target[i]); return out; },
  };
}

/** Whether this build's forward takes the `out` option (caller-owned results; older builds refuse it). */
function reusesOutputs(lstm, x) {
  try {
    lstm.forward(x, { noGrad: true, out: {} });
    return true;
  } catch {
    return false;
  }
}

async function runCase(mod, shape, mode, timing) {
  const { I, H, L, B, T } = shape;
  const lstm = new mod.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
  const x = mod.tensor(sinData(T * B * I), [T, B, I]);
  if (mode === 'forward') {
    // Inference as the peers run it: nothing kept for backward (PyTorch: no_grad; onnxruntime:
    // an inference engine). noGrad takes the inference forward (small workspace, no G/tanh(c) stores).
    // Each call writes into the previous call's results (forward's `out` option), as a batch loop
    // that wants no large allocation per call does; builds without the option allocate per call.
    lstm.eval();
    const out = reusesOutputs(lstm, x) ? lstm.forward(x, { noGrad: true }) : null;
    const t = timeitSync(() => { lstm.forward(x, out ? { noGrad: true, out } : { noGrad: true }); }, timing);
    return caseResult(shape, mode, t, { out_reused: out !== null });
  }
  lstm.train();
  const target = lcgData(B * H, 7);
  const dh = new Float32Array(L * B * H);
  const dhT = mod.tensor(dh, [L, B, H]);
  const off = (L - 1) * B * H;
  const loss = makeLoss(mod, B, H, target);
  let opt = makeOptimizer(mod, lstm);
  const out = reusesOutputs(lstm, x) ? lstm.forward(x) : null;
  const step = () => {
    lstm.zeroGrad();
    const { h } = lstm.forward(x, out ? { out } : {});
    dh.set(loss.grad(h.data.subarray(off, off + B * H)), off);
    // x needs no gradient (as in the PyTorch peer, where x has requires_grad False)
    lstm.backward({ h: dhT }, { inputGrad: false });
    opt.step();
  };
  try { step(); } catch (err) {
    if (opt.name !== 'Adam') throw err;
    // an exported Adam that does not work the way we call it: fall back rather than fail
    const msg = String(err.message || err).split('\n')[0];
    opt = makeOptimizer({}, lstm);
    opt.name = `SGD (hand-written: lstm-native's Adam failed: ${msg})`;
  }
  const t = timeitSync(step, timing);
  return caseResult(shape, mode, t, { optimizer: opt.name, loss: loss.name, out_reused: out !== null });
}

/**
 * GFLOP/s of sgemm on each shape through the addon's `_gemm` hook; throws when the loaded addon
 * has no such hook (a build without the test hooks).
 */
function gemmLimits(native, shapes, { runs = 7, minMs = 30 }) {
  if (typeof native._gemm !== 'function') throw new Error('this build of the addon has no _gemm hook: GEMM limits not measured');
  const out = [];
  for (const [M, N, K, label] of shapes) {
    const A = lcgData(M * K, 1), Bm = lcgData(N * K, 2), C = lcgData(M * N, 3);
    const call = () => native._gemm('default', false, true, M, N, K, 1, A, K, Bm, K, 0, C, N);
    for (let i = 0; i < 3; i++) call();
    let reps = 1;
    for (;;) {
      const t0 = now();
      for (let i = 0; i < reps; i++) call();
      const ms = (now() - t0) * 1e3;
      if (ms >= minMs) break;
      reps = Math.max(reps + 1, Math.ceil((reps * minMs * 1.2) / Math.max(ms, 0.01)));
    }
    const per = [];
    for (let r = 0; r < runs; r++) {
      const t0 = now();
      for (let i = 0; i < reps; i++) call();
      per.push((now() - t0) / reps);
    }
    const sec = median(per);
    out.push({ M, N, K, label, gflops: (2 * M * N * K) / sec / 1e9, us_per_call: sec * 1e6 });
  }
  return out;
}

runChild(async () => {
  const threads = spec.threads ?? 2;
  const timing = { reps: spec.reps ?? 7, minTime: spec.minTime ?? 0.5, maxSec: spec.maxSec ?? 30, warmupSec: spec.warmupSec ?? 1 };
  if (spec.kind === 'gemm') {
    const native = loadAddon();
    native.setNumThreads({ threads });
    return { threads, gemm: gemmLimits(native, spec.shapes, spec) };
  }
  const mod = await loadOurs();
  mod.setNumThreads(threads);
  const info = mod.backendInfo();
  if (spec.kind === 'info') {
    let supportedIsas = null;
    try { supportedIsas = loadAddon().backendInfo().supportedIsas ?? null; } catch { /* optional */ }
    const pkg = createRequire(join(root, 'package.json'))('./package.json');
    return { version: pkg.version, backend: info, supportedIsas, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
      node: process.version, hasAdam: typeof mod.Adam === 'function', hasLosses: !!mod.losses };
  }
  if (spec.kind === 'grid') {
    const shape = { I: spec.I, H: spec.H, L: 1, B: spec.B, T: spec.T };
    const res = await runCase(mod, shape, 'forward', timing);
    // The GEMM limit of this shape, measured right after in the same process (same load, same clock).
    let testing = null;
    try { testing = loadAddon(); } catch { /* no test build: the grid point without its limit */ }
    if (typeof testing?._gemm !== 'function') return { backend: info, ...res, gemm_limit_gflops: null, share_of_gemm_limit: null };
    const [g] = gemmLimits(testing, [[spec.B, 4 * spec.H, spec.I + spec.H, 'step']], spec.gemm ?? {});
    return { backend: info, ...res, gemm_limit_gflops: g.gflops, share_of_gemm_limit: res.gflops / g.gflops };
  }
  const c = CASES[spec.case];
  if (!c) throw new Error(`unknown case ${spec.case}`);
  // The glibc variables this process ran with (run.mjs --malloc), recorded with its result.
  const malloc = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_')));
  return { backend: info, malloc, ...(await runCase(mod, WORKLOADS[c.shapes], c.mode, timing)) };
});
