#!/usr/bin/env node
// GEMM throughput on the LSTM's shapes: the built-in GEMM vs OpenBLAS vs 'default' (what the
// kernel uses), with 1 and 2 threads, through the `_gemm` test hook. Prints GFLOP/s (median of
// several timed batches) as a table; --json prints one JSON object per measurement instead.
//
//   node bench/gemm-shapes.mjs [--threads 1,2] [--which builtin,openblas,default] [--runs 7]
//                              [--min-ms 30] [--shapes M,N,K[,tA,tB];...] [--json]
//
// Each (implementation, thread count) runs in its own child process, so one library's spinning
// threads (OpenBLAS keeps its workers hot for a while after a call) never slow down the other.
// Needs a built addon (node scripts/build-native.mjs); OpenBLAS columns show '-' when the build
// does not link it. Values are float32 in [-1, 1); C = 1 * op(A) op(B) + 1 * C as in the LSTM step.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodeGypBuild from 'node-gyp-build';
import { cpuInfo, lcgData, machineLabel } from './lib/common.mjs';

/** The test addon (the `_gemm` hook is not in the shipped one): node scripts/build-native.mjs --test-hooks. */
function testAddon() {
  const dir = join(process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build'), 'test-hooks');
  try {
    return nodeGypBuild(dir);
  } catch (cause) {
    throw new Error(`the GEMM benchmark needs the test addon in ${dir}: node scripts/build-native.mjs --test-hooks`, { cause });
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);

// [M, N, K, transA, transB, label]
const DEFAULT_SHAPES = [
  [32, 1024, 256, false, true, 'step H256 B32: h W_hh^T'],
  [32, 1024, 320, false, true, 'step I64 H256 B32 fused'],
  [32, 1024, 512, false, true, 'step H256 B32, K 512'],
  [64, 1024, 256, false, true, 'step H256 B64'],
  [64, 2048, 512, false, true, 'step H512 B64: h W_hh^T'],
  [3200, 1024, 256, false, true, 'hoisted X W_ih^T, I 256'],
  [3200, 1024, 320, false, true, 'hoisted X W_ih^T, I 320'],
  [3200, 2048, 512, false, true, 'hoisted X W_ih^T, H512'],
  [32, 256, 1024, false, false, 'bwd dh = dG W_hh'],
  [1024, 256, 3200, true, false, 'bwd dW_hh = dG^T H'],
  [1, 1024, 256, false, true, 'batch-1 step H256 (GEMV)'],
  [1, 2048, 1024, false, true, 'batch-1 step H512 (GEMV)'],
];

function parseArgs(argv) {
  const opts = { threads: [1, 2], which: ['builtin', 'openblas', 'default'], runs: 7, minMs: 30,
    shapes: DEFAULT_SHAPES, json: false, child: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--threads') opts.threads = next().split(',').map(Number);
    else if (a === '--which') opts.which = next().split(',');
    else if (a === '--runs') opts.runs = Number(next());
    else if (a === '--min-ms') opts.minMs = Number(next());
    else if (a === '--json') opts.json = true;
    else if (a === '--child') opts.child = JSON.parse(next());
    else if (a === '--shapes') {
      opts.shapes = next().split(';').filter(Boolean).map((s) => {
        const [M, N, K, ta = 'false', tb = 'true'] = s.split(',');
        return [Number(M), Number(N), Number(K), ta === 'true' || ta === '1', tb === 'true' || tb === '1', s];
      });
    } else if (a === '--help' || a === '-h') {
      console.log('node bench/gemm-shapes.mjs [--threads 1,2] [--which builtin,openblas,default] ' +
        '[--runs 7] [--min-ms 30] [--shapes M,N,K[,tA,tB];...] [--json]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** Child: times one implementation with one thread count over all shapes, prints JSON lines. */
function runChild({ which, threads, runs, minMs, shapes }) {
  const native = testAddon();
  native.setNumThreads({ threads });
  // Settle first: right after start-up V8's background threads (compilation, GC) still take CPU,
  // which a 2-core machine shows as a slow first shape.
  {
    const A = lcgData(64 * 256, 1), B = lcgData(256 * 1024, 2), C = lcgData(64 * 1024, 3);
    const until = performance.now() + 300;
    while (performance.now() < until) {
      try { native._gemm(which, false, true, 64, 1024, 256, 1, A, 256, B, 256, 1, C, 1024); } catch { break; }
    }
  }
  for (const [M, N, K, ta, tb] of shapes) {
    const A = lcgData(M * K, 1), B = lcgData(K * N, 2), C = lcgData(M * N, 3);
    const lda = ta ? M : K, ldb = tb ? K : N;
    const call = () => native._gemm(which, ta, tb, M, N, K, 1, A, lda, B, ldb, 1, C, N);
    let result;
    try {
      for (let i = 0; i < 3; i++) call();
      // Batches of `reps` calls lasting >= minMs each.
      let reps = 1;
      for (;;) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < reps; i++) call();
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (ms >= minMs) break;
        reps = Math.max(reps + 1, Math.ceil(reps * (minMs * 1.2) / Math.max(ms, 0.01)));
      }
      const perCall = [];
      for (let r = 0; r < runs; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < reps; i++) call();
        perCall.push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
      }
      perCall.sort((x, y) => x - y);
      const median = perCall[Math.floor(perCall.length / 2)];
      result = { gflops: (2 * M * N * K) / median / 1e9, usPerCall: median * 1e6,
        spread: [perCall[0] * 1e6, perCall[perCall.length - 1] * 1e6] };
    } catch (err) {
      result = { error: err.code ?? err.message };
    }
    process.stdout.write(JSON.stringify({ which, threads, M, N, K, ta, tb, ...result }) + '\n');
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) {
    runChild(opts.child);
    return;
  }
  const native = testAddon();
  const info = native.backendInfo();
  const results = new Map();
  for (const threads of opts.threads) {
    for (const which of opts.which) {
      const child = { which, threads, runs: opts.runs, minMs: opts.minMs, shapes: opts.shapes };
      const out = execFileSync(process.execPath, [self, '--child', JSON.stringify(child)], {
        encoding: 'utf8', maxBuffer: 1 << 24,
        env: { ...process.env, LSTM_NATIVE_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
      });
      for (const line of out.split('\n').filter(Boolean)) {
        const r = JSON.parse(line);
        if (opts.json) console.log(line);
        results.set(`${r.M},${r.N},${r.K},${r.ta},${r.tb}|${which}|${threads}`, r);
      }
    }
  }
  if (opts.json) return;

  console.log(`lstm-native GEMM, float32, GFLOP/s (median of ${opts.runs} batches of >= ${opts.minMs} ms)`);
  console.log(`${machineLabel(cpuInfo(), info)}; Node ${process.version}`);
  const cols = [];
  for (const threads of opts.threads) for (const which of opts.which) cols.push([which, threads]);
  const header = ['shape (M N K tA tB)', ...cols.map(([w, t]) => `${w} ${t}t`)];
  const hasBoth = opts.which.includes('builtin') && opts.which.includes('openblas');
  if (hasBoth) header.push(...opts.threads.map((t) => `builtin/openblas ${t}t`));
  const rows = opts.shapes.map(([M, N, K, ta, tb, label]) => {
    const key = `${M},${N},${K},${ta},${tb}`;
    const cell = (w, t) => {
      const r = results.get(`${key}|${w}|${t}`);
      return r && r.gflops !== undefined ? r.gflops.toFixed(1) : '-';
    };
    const row = [`${M} ${N} ${K} ${ta ? 'T' : 'N'} ${tb ? 'T' : 'N'}  ${label}`, ...cols.map(([w, t]) => cell(w, t))];
    if (hasBoth) {
      for (const t of opts.threads) {
        const b = results.get(`${key}|builtin|${t}`), o = results.get(`${key}|openblas|${t}`);
        row.push(b?.gflops && o?.gflops ? `${Math.round((100 * b.gflops) / o.gflops)}%` : '-');
      }
    }
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r));
}

main();
