#!/usr/bin/env node
// `npm run bench`: lstm-native against its peers on the issue's workloads W1-W4, then a grid of
// shapes for lstm-native alone, with the GEMM limit measured in the same run. Prints the machine,
// then one markdown table per workload and the grid table (stdout; progress goes to stderr).
//
//   node bench/run.mjs [--procs 3] [--quick] [--only W1,W4,grid] [--no-peers] [--no-grid]
//                      [--peers torch,ort,onednn,tfjs-wasm,tfjs-cpu,brain] [--threads 2] [--json out.json]
//                      [--slow-procs 1] [--include-slow] [--grid-i N] [--python /usr/bin/python3]
//                      [--malloc default|steady]
//
// Every measurement runs in its own child process (one per case, system and repetition), and the
// systems are interleaved: round 1 runs every system on W1, then W2, ..., round 2 again, with the
// order of the systems rotated each round. Reported: the median over the processes, and the spread
// (min..max of the per-process medians). Timings on a shared machine vary a lot between processes;
// compare the ratios of one run, never absolute numbers across runs. Every table and every raw
// result carries the machine label (CPU model, family and model numbers, SIMD flags, the ISA and
// GEMM lstm-native ran), so results of different machines or code paths are never mixed up.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES, CASE_ORDER, WORKLOADS, cpuInfo, lstmCasePath, machineLabel, median } from './lib/common.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const benchRequire = createRequire(join(benchDir, 'package.json'));

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: node bench/run.mjs [options]      (npm run bench -- [options])
  --procs N          processes per case and system (default 3; medians and spread over them)
  --quick            1 process, fewer and shorter repetitions, skips the slowest peer cases
                     (checks that everything runs; numbers are rough)
  --only LIST        cases to run, from W1,W2,W3,W3t,W4,grid (default: all)
  --no-peers         lstm-native only          --peers LIST  torch,ort,onednn,tfjs-wasm,tfjs-cpu,brain
  --no-grid          skip the H x B grid       --grid-i N    input size of the grid (default I = H)
  --threads N        threads for lstm-native, onnxruntime, oneDNN and PyTorch's OpenBLAS (default 2)
  --slow-procs N     processes for the slow JS peers (tfjs, brain.js; default 1)
  --include-slow     also run the peer cases estimated at minutes per call (tfjs-cpu W3t)
  --json FILE        write every raw result, the medians and the settings to FILE
  --python PATH      Python with torch (default /usr/bin/python3)
  --timeout SEC      kill a child after SEC seconds (default 900)
  --pairs N          instead of the tables: N pairs of adjacent processes, lstm-native and one peer
                     (who goes first alternates), for each case and each peer that is not a slow JS
                     peer; prints the median of the per-pair ratios (the VM's slow phases, seconds
                     long, then hit both processes of a pair alike more often than two processes
                     minutes apart)
  --malloc MODE      default (the default): glibc's own heap policy, as users run; steady: every
                     process, peers included, runs with glibc's heap thresholds fixed
                     (MALLOC_MMAP_THRESHOLD_ 32 MiB, MALLOC_TRIM_THRESHOLD_ 128 MiB), so freed
                     buffers are reused instead of being returned to the system and faulted in
                     again page by page (to show what the allocator costs each system)`;

function parseOptions(argv) {
  const o = {
    procs: 3, quick: false, only: null, peers: ['torch', 'ort', 'onednn', 'tfjs-wasm', 'tfjs-cpu', 'brain'], grid: true,
    threads: 2, slowProcs: 1, includeSlow: false, json: null, gridI: null, python: '/usr/bin/python3', timeout: 900,
    malloc: 'default', pairs: 0,
  };
  let procsSet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--procs') { o.procs = num(); procsSet = true; }
    else if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--no-peers') o.peers = [];
    else if (a === '--peers') o.peers = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--no-grid') o.grid = false;
    else if (a === '--grid-i') o.gridI = num();
    else if (a === '--threads') o.threads = num();
    else if (a === '--slow-procs') o.slowProcs = num();
    else if (a === '--include-slow') o.includeSlow = true;
    else if (a === '--json') o.json = resolve(process.env.INIT_CWD ?? process.cwd(), val());
    else if (a === '--python') o.python = val();
    else if (a === '--timeout') o.timeout = num();
    else if (a === '--pairs') o.pairs = num();
    else if (a === '--malloc') {
      o.malloc = val();
      if (!['steady', 'default'].includes(o.malloc)) throw new Error(`--malloc: expected steady or default, got ${o.malloc}`);
    }
    else if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0); }
    else throw new Error(`unknown option ${a}\n${HELP}`);
  }
  if (o.quick && !procsSet) o.procs = 1;
  const alias = { W1f: 'W1', W1t: 'W2', W3f: 'W3', W4f: 'W4' };
  let cases = CASE_ORDER;
  if (o.only) {
    const wanted = o.only.map((s) => alias[s] ?? s);
    for (const w of wanted) if (w !== 'grid' && !CASES[w]) throw new Error(`--only: unknown case ${w} (W1,W2,W3,W3t,W4,grid)`);
    cases = CASE_ORDER.filter((c) => wanted.includes(c));
    if (!wanted.includes('grid')) o.grid = false;
  }
  o.cases = cases;
  for (const p of o.peers) if (!PEERS[p]) throw new Error(`--peers: unknown peer ${p} (${Object.keys(PEERS).join(',')})`);
  o.timing = o.quick ? { reps: 3, minTime: 0.15, maxSec: 6, warmupSec: 0.2 } : { reps: 7, minTime: 0.5, maxSec: 30, warmupSec: 1 };
  // Paired processes run shorter, so that the two of a pair are seconds apart.
  if (o.pairs && !o.quick) o.timing = { reps: 5, minTime: 0.4, maxSec: 20, warmupSec: 1 };
  if (o.pairs) o.grid = false;
  o.gridTiming = o.quick ? { reps: 3, minTime: 0.1, maxSec: 4 } : { reps: 5, minTime: 0.3, maxSec: 15 };
  o.gemmTiming = o.quick ? { runs: 3, minMs: 15 } : { runs: 7, minMs: 30 };
  return o;
}

// ---------------------------------------------------------------------------------------------
// Systems

// Seconds per call measured for the anchors (shared/anchors/RESULTS.md), to leave out the cases
// that would take minutes: --quick skips those over QUICK_MAX_S, a full run those over FULL_MAX_S.
const QUICK_MAX_S = 5, FULL_MAX_S = 100;
const ANCHOR_SEC_PER_CALL = {
  'tfjs-cpu': { W1: 4.3, W2: 12.3, W3: 43, W3t: 180, W4: 0.017 },
  'tfjs-wasm': { W1: 0.13, W2: 4.1, W3: 1.2, W3t: 64, W4: 0.006 },
  brain: { W1: 1.05, W2: 2.5, W3: 1.7, W3t: 4, W4: 0.017 },
};

const node = process.execPath;
const PEERS = {
  torch: { label: 'PyTorch', slow: false },
  ort: { label: 'onnxruntime-node', slow: false, forwardOnly: true },
  onednn: { label: 'oneDNN', slow: false, forwardOnly: true },
  'tfjs-wasm': { label: 'tfjs wasm', slow: true },
  'tfjs-cpu': { label: 'tfjs cpu', slow: true },
  brain: { label: 'brain.js', slow: true },
};

// glibc's heap policy for --malloc steady. By default glibc returns the top of its heap to the
// system once more than a few MiB there are free (the threshold adapts to the largest freed
// mmapped block): a process that allocates a fresh multi-MiB buffer every call then gets those
// pages back one fault per 4 KiB, or not, depending on where its heap happened to end. Fixed
// thresholds (the largest value glibc's adaptive one can reach, and 4x that to trim) make every
// process reuse freed blocks. Users run with glibc's default, so the bench does too unless asked;
// values already in the environment are kept either way.
const STEADY_MALLOC = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(128 << 20) };

function childEnv(o, extra = {}) {
  const malloc = o.malloc === 'steady' ? STEADY_MALLOC : {};
  return { ...malloc, ...process.env, OPENBLAS_NUM_THREADS: String(o.threads), LSTM_NATIVE_NUM_THREADS: String(o.threads), ...extra };
}

/** Runs one child; returns its JSON result ({ ok: true, ... }) or { ok: false, error }. */
function runChild(cmd, args, env, timeoutSec) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: benchDir, env, encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutSec * 1000 });
  const wall = (Date.now() - t0) / 1000;
  if (r.error) return { ok: false, error: r.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutSec} s` : r.error.message, wall };
  const lines = (r.stdout || '').split('\n').map((l) => l.trim()).filter(Boolean);
  let res = null;
  for (let i = lines.length - 1; i >= 0 && !res; i--) {
    if (!lines[i].startsWith('{')) continue;
    try { res = JSON.parse(lines[i]); } catch { /* not ours */ }
  }
  if (!res) {
    const errLines = (r.stderr || '').split('\n').map((l) => l.trim()).filter(Boolean);
    const why = errLines.find((l) => /Error|error:/.test(l)) ?? errLines.at(-1) ?? `exit code ${r.status}, signal ${r.signal}`;
    return { ok: false, error: why.slice(0, 300), wall };
  }
  if (r.status !== 0 && res.ok) res.ok = false;
  return { ...res, wall };
}

/**
 * Builds the oneDNN peer (peers/onednn_lstm.cpp, linked against the system's libdnnl) into
 * bench/build/ when missing or older than its source; returns its path or { error }.
 */
function buildOnednn() {
  const src = join(benchDir, 'peers', 'onednn_lstm.cpp');
  const bin = join(benchDir, 'build', 'onednn_lstm');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return { bin };
  mkdirSync(dirname(bin), { recursive: true });
  const r = spawnSync('g++', ['-O2', '-std=c++17', '-o', bin + '.tmp', src, '-ldnnl'], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) return { error: `g++: ${r.error.message}` };
  if (r.status !== 0) {
    const first = (r.stderr || '').split('\n').find((l) => /error/.test(l)) ?? `g++ exit code ${r.status}`;
    return { error: first.trim().slice(0, 200) };
  }
  renameSync(bin + '.tmp', bin);
  return { bin };
}

const nodeCase = (script, spec, o) => () => runChild(node, [join(benchDir, 'cases', script), JSON.stringify(spec)], childEnv(o), o.timeout);

/** The systems that can run here, each with a `run(caseName)` that starts one child. */
function systems(o, notes) {
  const list = [];
  const timing = o.timing;
  list.push({
    id: 'ours', name: `lstm-native (${o.threads} thr)`, procs: o.procs, cases: o.cases,
    run: (c) => nodeCase('ours.mjs', { kind: 'case', case: c, threads: o.threads, ...timing }, o)(),
  });
  const has = (pkg) => { try { benchRequire.resolve(pkg + '/package.json'); return true; } catch { return false; } };
  const version = (pkg) => benchRequire(pkg + '/package.json').version;
  const installHint = '(cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm install)';
  for (const id of o.peers) {
    const p = PEERS[id];
    const procs = p.slow ? Math.min(o.slowProcs, o.procs) : o.procs;
    const skipSlow = (c) => {
      const est = ANCHOR_SEC_PER_CALL[id]?.[c];
      if (est === undefined) return null;
      if (o.quick && est > QUICK_MAX_S) return `~${est} s per call, not run with --quick`;
      if (!o.includeSlow && est > FULL_MAX_S) return `~${est} s per call, not run without --include-slow`;
      return null;
    };
    const cases = [];
    for (const c of o.cases) {
      if (p.forwardOnly && CASES[c].mode !== 'forward') { notes.add(c, `${p.label}: inference only, no training API`); continue; }
      const why = skipSlow(c);
      if (why) { notes.add(c, `${p.label}: skipped (${why})`); continue; }
      cases.push(c);
    }
    if (id === 'torch') {
      if (!existsSync(o.python)) { notes.add('*', `PyTorch: skipped (${o.python} not found; Debian: apt-get install python3-torch)`); continue; }
      const env = childEnv(o, { OMP_NUM_THREADS: '1' });
      const info = runChild(o.python, [join(benchDir, 'peers', 'torch_lstm.py'), '--info'], env, 120);
      if (!info.ok) { notes.add('*', `PyTorch: skipped (${info.error}; Debian: apt-get install python3-torch)`); continue; }
      list.push({
        id, name: `PyTorch ${info.version} (OpenBLAS ${o.threads} thr, OMP 1)`, procs, cases, version: info.version,
        run: (c) => runChild(o.python, [join(benchDir, 'peers', 'torch_lstm.py'), '--case', c, '--reps', String(timing.reps),
          '--min-time', String(timing.minTime), '--max-sec', String(timing.maxSec), '--warmup-sec', String(timing.warmupSec)], env, o.timeout),
      });
    } else if (id === 'ort') {
      if (!has('onnxruntime-node')) { notes.add('*', `onnxruntime-node: skipped (not installed: ${installHint})`); continue; }
      list.push({
        id, name: `onnxruntime-node ${version('onnxruntime-node')} (${o.threads} thr)`, procs, cases, prepare: true,
        run: (c) => nodeCase('ort.mjs', { kind: 'case', case: c, threads: o.threads, ...timing }, o)(),
        prep: (c) => nodeCase('ort.mjs', { kind: 'prepare', case: c }, o)(),
      });
    } else if (id === 'onednn') {
      const hint = 'Debian: apt-get install libdnnl-dev';
      const built = buildOnednn();
      if (built.error) { notes.add('*', `oneDNN: skipped (${built.error}; ${hint})`); continue; }
      // Debian's libdnnl runs on OpenMP: OMP_NUM_THREADS sizes its pool.
      const env = childEnv(o, { OMP_NUM_THREADS: String(o.threads) });
      const info = runChild(built.bin, ['--info'], env, 60);
      if (!info.ok) { notes.add('*', `oneDNN: skipped (${info.error}; ${hint})`); continue; }
      list.push({
        id, name: `oneDNN ${info.version} (${o.threads} thr)`, procs, cases, prepare: true, version: info.version,
        run: (c) => runChild(built.bin, ['--data', lstmCasePath(WORKLOADS[CASES[c].shapes]), '--reps', String(timing.reps), '--min-time', String(timing.minTime),
          '--max-sec', String(timing.maxSec), '--warmup-sec', String(timing.warmupSec)], env, o.timeout),
        prep: (c) => nodeCase('onednn.mjs', { kind: 'prepare', case: c }, o)(),
      });
    } else if (id === 'tfjs-wasm' || id === 'tfjs-cpu') {
      const backend = id.slice(5);
      const pkgs = backend === 'wasm' ? ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] : ['@tensorflow/tfjs'];
      const missing = pkgs.filter((x) => !has(x));
      if (missing.length) { notes.add('*', `${p.label}: skipped (${missing.join(', ')} not installed: ${installHint})`); continue; }
      const name = backend === 'wasm'
        ? `tfjs ${version('@tensorflow/tfjs')} wasm (SIMD, 1 thr)`
        : `tfjs ${version('@tensorflow/tfjs')} cpu (pure JS, 1 thr)`;
      list.push({
        id, name, procs, cases,
        run: (c) => nodeCase('tfjs.mjs', { kind: 'case', backend, case: c, threads: o.threads, ...timing }, o)(),
      });
    } else if (id === 'brain') {
      if (!has('brain.js')) { notes.add('*', `brain.js: skipped (not installed: ${installHint})`); continue; }
      list.push({
        id, name: `brain.js ${version('brain.js')} LSTMTimeStep (batch 1, 1 thr)`, procs, cases,
        run: (c) => nodeCase('brain.mjs', { kind: 'case', case: c, ...timing }, o)(),
      });
    }
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const GRID_H = [32, 128, 256, 512, 1024];
const GRID_B = [1, 8, 32, 128];
const GRID_T = 100;

function fmtNum(v, digits = 3) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}
const fmtRatio = (v) => (Number.isFinite(v) ? `${fmtNum(v)}x` : '-');
const fmtPct = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)} %` : '-');

function table(header, rows, align) {
  const out = [`| ${header.join(' | ')} |`, `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

/** Per-process results -> the median row: every rate derived from the median seconds per call. */
function summarize(results) {
  const ok = results.filter((r) => r.ok);
  if (!ok.length) return null;
  const sec = median(ok.map((r) => r.sec_per_call));
  const first = ok[0];
  const batch = first.seq_per_s * first.sec_per_call; // sequences per call
  const flopsPerCall = first.gflops * 1e9 * first.sec_per_call;
  const seqs = ok.map((r) => r.seq_per_s);
  return {
    procs: ok.length, sec_per_call: sec, seq_per_s: batch / sec, gflops: flopsPerCall / sec / 1e9,
    ms_per_seq: (sec / batch) * 1e3, spread: [Math.min(...seqs), Math.max(...seqs)], extra: first,
  };
}

function spreadText(s) {
  if (!s) return '-';
  if (s.procs === 1) return '1 proc';
  const [lo, hi] = s.spread;
  return `${fmtNum(lo)}..${fmtNum(hi)} (${s.procs} procs)`;
}

// ---------------------------------------------------------------------------------------------
// Paired mode (--pairs N)

const quantile = (v, q) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * For each case and each peer (slow JS peers left out): N pairs of adjacent processes, lstm-native
 * and the peer, the first of a pair alternating; the ratio of each pair's seq/s, then their median
 * and quartiles next to the two systems' own medians.
 */
function runPairs(o, sysList, raw, notes, machineLines, startedAt, log, info, label) {
  const ours = sysList.find((s) => s.id === 'ours');
  const peers = sysList.filter((s) => s.id !== 'ours' && !PEERS[s.id].slow);
  for (const s of sysList.filter((x) => x.id !== 'ours' && PEERS[x.id].slow)) notes.add('*', `${s.name}: left out (a slow JS peer: 10-500x slower, nothing to pair)`);
  const out = [`# lstm-native benchmark, paired, ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}`, '', ...machineLines.filter((l) => !l.includes('per case and system')),
    `- ${o.pairs} pairs of adjacent processes per case and peer (who runs first alternates), ${o.timing.warmupSec} s of warm-up calls, then ` +
    `${o.timing.reps} timed repetitions of >= ${o.timing.minTime} s per process`, ''];
  const summary = [];
  const body = [];
  for (const c of o.cases) {
    for (const p of peers.filter((x) => x.cases.includes(c))) {
      const pairs = [];
      for (let i = 0; i < o.pairs; i++) {
        const order = i % 2 === 0 ? [ours, p] : [p, ours];
        const res = {};
        for (const s of order) {
          const r = s.run(c);
          raw.push({ system: s.id, name: s.name, case: c, pair: i, peer: p.id, ...r });
          if (!r.ok) log(`[pair ${i + 1}/${o.pairs}] ${c} ${s.name}: FAILED ${r.error}`);
          res[s.id] = r.ok ? r.seq_per_s : NaN;
        }
        const ratio = res.ours / res[p.id];
        if (Number.isFinite(ratio)) pairs.push({ ours: res.ours, peer: res[p.id], ratio });
        log(`[pair ${i + 1}/${o.pairs}] ${c}: lstm-native ${fmtNum(res.ours)}, ${p.name} ${fmtNum(res[p.id])} seq/s: ${fmtRatio(ratio)}`);
      }
      if (!pairs.length) { notes.add(c, `${p.name}: no pair completed`); continue; }
      const r = pairs.map((x) => x.ratio);
      const row = {
        case: c, peer: p.id, peer_name: p.name, pairs: pairs.length, median_ratio: median(r), q25: quantile(r, 0.25), q75: quantile(r, 0.75),
        ours_seq_per_s: median(pairs.map((x) => x.ours)), peer_seq_per_s: median(pairs.map((x) => x.peer)),
        ahead: pairs.filter((x) => x.ratio > 1).length,
      };
      summary.push(row);
      body.push([CASES[c].title.split(' (')[0], p.name, String(row.pairs), fmtRatio(row.median_ratio),
        `${fmtNum(row.q25)}..${fmtNum(row.q75)}`, `${row.ahead} of ${row.pairs}`, fmtNum(row.ours_seq_per_s), fmtNum(row.peer_seq_per_s)]);
    }
  }
  out.push('## lstm-native against each peer, adjacent processes', '', `Machine: ${label}.`, '');
  out.push('ratio: lstm-native seq/s over the peer\'s in the same pair (above 1: lstm-native faster; for a latency, ' +
    'lstm-native\'s latency is the peer\'s divided by the ratio); median and quartiles over the pairs. ' +
    'seq/s: each system\'s median over its processes.', '');
  out.push(body.length ? table(['case', 'peer', 'pairs', 'median ratio', 'quartiles', 'pairs ahead', 'lstm-native seq/s', 'peer seq/s'], body,
    ['l', 'l', 'r', 'r', 'l', 'r', 'r', 'r']) : '(no pair ran)', '');
  for (const n of notes.byCase.get('*') ?? []) out.push(`- ${n}`);
  for (const c of o.cases) for (const n of notes.byCase.get(c) ?? []) out.push(`- ${c}: ${n}`);
  console.log(out.join('\n'));
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ started: startedAt.toISOString(), machine: { label, cpu: cpuInfo() }, lstm_native: info, settings: o, pairs: summary, raw }, null, 1));
    log(`bench: wrote ${o.json}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function main() {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    console.error('bench: ../dist/index.js is missing: build lstm-native first (npm run build, or npx tsup)');
    process.exit(1);
  }
  const startedAt = new Date();
  const notes = {
    byCase: new Map(),
    add(c, text) {
      if (!this.byCase.has(c)) this.byCase.set(c, new Set());
      this.byCase.get(c).add(text);
    },
    get(c) { return [...(this.byCase.get('*') ?? []), ...(this.byCase.get(c) ?? [])]; },
  };
  const log = (s) => process.stderr.write(s + '\n');

  // Machine and our backend (from a child, so this process never loads OpenBLAS).
  const info = runChild(node, [join(benchDir, 'cases', 'ours.mjs'), JSON.stringify({ kind: 'info', threads: o.threads })], childEnv(o), 120);
  if (!info.ok) {
    console.error(`bench: lstm-native does not load: ${info.error}`);
    process.exit(1);
  }
  const cpu = cpuInfo();
  const b = info.backend;
  const label = machineLabel(cpu, b);
  const machineLines = [
    `- machine: **${label}**`,
    `- CPU: ${cpu.logicalCores} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- Node ${process.version}, ${process.platform}-${process.arch}`,
    `- lstm-native ${info.version}: ISA path **${b.isa}**${info.supportedIsas ? ` (runnable: ${info.supportedIsas.join(', ')})` : ''}, BLAS **${b.blas}**, threads **${b.threads}**`,
  ];

  const sysList = systems(o, notes);
  const peerNames = sysList.filter((s) => s.id !== 'ours').map((s) => s.name);
  machineLines.push(`- peers: ${peerNames.length ? peerNames.join('; ') : 'none'}`);
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 'es'}`;
  machineLines.push(o.malloc === 'steady'
    ? `- glibc heap: steady for every process (--malloc steady: MALLOC_MMAP_THRESHOLD_=${STEADY_MALLOC.MALLOC_MMAP_THRESHOLD_}, MALLOC_TRIM_THRESHOLD_=${STEADY_MALLOC.MALLOC_TRIM_THRESHOLD_} unless set)`
    : '- glibc heap: glibc\'s default policy, as users run (--malloc steady fixes the thresholds)');
  machineLines.push(`- ${plural(o.procs, 'process')} per case and system (slow JS peers: ${Math.min(o.slowProcs, o.procs)}), ` +
    `${o.timing.warmupSec} s of warm-up calls, then ${o.timing.reps} timed repetitions of >= ${o.timing.minTime} s per process${o.quick ? ' (--quick: rough numbers)' : ''}`);

  // Which cases each system runs; ONNX models built and checked once.
  const raw = [];
  const failed = new Set();
  for (const s of sysList.filter((x) => x.prepare)) {
    for (const c of [...s.cases]) {
      log(`[prepare] ${s.name} ${c}`);
      const r = s.prep(c);
      raw.push({ system: s.id, case: c, kind: 'prepare', ...r });
      if (!r.ok) {
        notes.add(c, `${s.name}: failed (${r.error})`);
        s.cases = s.cases.filter((x) => x !== c);
      } else if (r.model) {
        notes.add(c, `${s.name.split(' (')[0]}: ONNX model (bench/models, ${r.built ? 'built now' : 'cached'}) agrees with lstm-native to ${r.max_abs_diff_vs_ours.toExponential(1)} (max abs diff of y, h, c)`);
      }
    }
  }

  if (o.pairs) {
    runPairs(o, sysList, raw, notes, machineLines, startedAt, log, info, label);
    return;
  }

  // GEMM shapes of the per-step product: C (B, 4H) = [x_t h_{t-1}] (B, I+H) W^T.
  const gemmShapes = new Map();
  const addShape = (M, N, K) => { gemmShapes.set(`${M},${N},${K}`, [M, N, K, `${M}x${N}x${K}`]); };
  const caseShape = (c) => { const w = WORKLOADS[CASES[c].shapes]; return [w.B, 4 * w.H, w.I + w.H]; };
  for (const c of o.cases) addShape(...caseShape(c));
  const gridPoints = [];
  if (o.grid) {
    for (const H of GRID_H) for (const B of GRID_B) gridPoints.push({ H, B, I: o.gridI ?? H, T: GRID_T });
  }
  addShape(2048, 2048, 2048); // the practical peak, for the header
  const gemmRuns = [];

  for (let round = 0; round < o.procs; round++) {
    const measureGemm = (shapes, what) => {
      const r = nodeCase('ours.mjs', { kind: 'gemm', threads: o.threads, shapes, ...o.gemmTiming }, o)();
      raw.push({ system: 'ours', case: 'gemm', for: what, proc: round, ...r });
      if (r.ok) gemmRuns.push(r.gemm);
      else log(`[round ${round + 1}/${o.procs}] GEMM limit (${what}) failed: ${r.error}`);
    };
    measureGemm([gemmShapes.get('2048,2048,2048')], 'peak');
    for (const c of o.cases) {
      measureGemm([gemmShapes.get(caseShape(c).join(','))], c); // right before the systems run this case
      const active = sysList.filter((s) => s.cases.includes(c) && round < s.procs && !failed.has(`${s.id}|${c}`));
      const k = active.length ? round % active.length : 0;
      const order = active.slice(k).concat(active.slice(0, k));
      for (const s of order) {
        const r = s.run(c);
        raw.push({ system: s.id, name: s.name, case: c, proc: round, ...r });
        if (r.ok) log(`[round ${round + 1}/${o.procs}] ${c} ${s.name}: ${fmtNum(r.seq_per_s)} seq/s, ${fmtNum(r.gflops)} GFLOP/s (${r.wall.toFixed(1)} s)`);
        else {
          log(`[round ${round + 1}/${o.procs}] ${c} ${s.name}: FAILED ${r.error}`);
          notes.add(c, `${s.name}: failed (${r.error})`);
          failed.add(`${s.id}|${c}`);
        }
      }
    }
    for (const g of gridPoints) {
      const r = nodeCase('ours.mjs', { kind: 'grid', ...g, threads: o.threads, ...o.gridTiming, gemm: o.gemmTiming }, o)();
      raw.push({ system: 'ours', case: 'grid', ...g, proc: round, ...r });
      if (r.ok) log(`[round ${round + 1}/${o.procs}] grid H ${g.H} B ${g.B}: ${fmtNum(r.seq_per_s)} seq/s, ${fmtNum(r.gflops)} GFLOP/s`);
      else log(`[round ${round + 1}/${o.procs}] grid H ${g.H} B ${g.B}: FAILED ${r.error}`);
    }
  }

  // GEMM limit per shape: median over the processes.
  const gemmLimit = new Map();
  for (const key of gemmShapes.keys()) {
    const v = gemmRuns.map((g) => g.find((x) => `${x.M},${x.N},${x.K}` === key)?.gflops).filter(Number.isFinite);
    if (v.length) gemmLimit.set(key, median(v));
  }
  const peak = gemmLimit.get('2048,2048,2048');
  if (peak) machineLines.push(`- GEMM practical peak (sgemm 2048^3 through lstm-native's \`_gemm('default')\`, ${o.threads} thr): ${fmtNum(peak)} GFLOP/s`);

  // ---- output ----
  const out = [];
  out.push(`# lstm-native benchmark, ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}`, '', ...machineLines, '');
  const summary = { cases: {}, grid: [] };
  for (const c of o.cases) {
    const cs = CASES[c];
    const rows = [];
    for (const s of sysList) {
      const res = raw.filter((r) => r.system === s.id && r.case === c && r.kind !== 'prepare');
      const sm = summarize(res);
      if (sm) rows.push({ s, sm });
    }
    const [M, N, K] = caseShape(c);
    const limit = gemmLimit.get(`${M},${N},${K}`);
    const torchRow = rows.find((r) => r.s.id === 'torch');
    const peers = rows.filter((r) => r.s.id !== 'ours');
    const best = peers.reduce((a, r) => (!a || r.sm.seq_per_s > a.sm.seq_per_s ? r : a), null);
    const train = cs.mode === 'train';
    const header = ['system', 'seq/s', ...(cs.latency ? ['ms/seq'] : []), train ? 'GFLOP/s (3x fwd)' : 'GFLOP/s',
      'share of GEMM limit', 'vs PyTorch', `vs best peer${best ? ` (${best.s.name.split(' (')[0]})` : ''}`, 'spread of seq/s'];
    const align = ['l', 'r', ...(cs.latency ? ['r'] : []), 'r', 'r', 'r', 'r', 'l'];
    const body = rows.map(({ s, sm }) => [
      s.id === 'ours' ? `**${s.name}**` : s.name,
      fmtNum(sm.seq_per_s), ...(cs.latency ? [fmtNum(sm.ms_per_seq)] : []), fmtNum(sm.gflops),
      limit ? fmtPct(sm.gflops / limit) : '-',
      torchRow ? fmtRatio(sm.seq_per_s / torchRow.sm.seq_per_s) : '-',
      best ? fmtRatio(sm.seq_per_s / best.sm.seq_per_s) : '-',
      spreadText(sm),
    ]);
    out.push(`## ${cs.title}`, '', `Machine: ${label}.`, '');
    out.push(`GEMM limit: ${limit ? `${fmtNum(limit)} GFLOP/s` : 'not measured'} (sgemm M ${M}, N ${N}, K ${K}: one step's gate product at this batch).`, '');
    out.push(rows.length ? table(header, body, align) : '(no system ran)', '');
    const ours = rows.find((r) => r.s.id === 'ours');
    const caseNotes = notes.get(c);
    const otherPaths = new Set(raw.filter((r) => r.system === 'ours' && r.case === c && r.ok && r.backend)
      .map((r) => machineLabel(cpu, r.backend)).filter((l) => l !== label));
    for (const l of otherPaths) caseNotes.unshift(`lstm-native ran on another path in some processes: ${l}`);
    const ex = ours?.sm.extra;
    if (ex?.optimizer && (ex.optimizer !== 'Adam' || !String(ex.loss).startsWith('losses.'))) caseNotes.unshift(`lstm-native: ${ex.optimizer}; ${ex.loss}`);
    if (rows.some((r) => r.s.id === 'brain')) { const n = rows.find((r) => r.s.id === 'brain').sm.extra.batch; caseNotes.push(`brain.js: one sequence at a time (no batching); timed on ${n} sequence${n === 1 ? '' : 's'} per call`); }
    if (rows.some((r) => r.s.id === 'tfjs-wasm')) caseNotes.push('tfjs wasm: 1 thread (tfjs disables wasm threads under Node)');
    const dnnl = raw.filter((r) => r.system === 'onednn' && r.case === c && r.ok && r.kind !== 'prepare');
    if (dnnl.length) {
      caseNotes.push(`oneDNN: lstm-native's seed-1 weights and input (bench/models/*.lstmcase); its y agrees with lstm-native's to ` +
        `${Math.max(...dnnl.map((r) => r.max_abs_diff_vs_ours)).toExponential(1)} (max abs diff, checked in every process); ` +
        `implementation: ${[...new Set(dnnl.map((r) => r.impl))].join(', ')}`);
    }
    const faults = rows.map(({ s }) => {
      const v = raw.filter((r) => r.system === s.id && r.case === c && r.ok && Number.isFinite(r.faults_per_call)).map((r) => r.faults_per_call);
      return v.length ? `${s.name.split(' (')[0]} ${fmtNum(median(v))}` : null;
    }).filter(Boolean);
    if (faults.length) caseNotes.push(`page faults per call (median over processes; ~3 us each here): ${faults.join(', ')}`);
    if (caseNotes.length) out.push(...caseNotes.map((n) => `- ${n}`), '');
    summary.cases[c] = {
      machine: label, title: cs.title, gemm_limit_gflops: limit ?? null, gemm_shape: [M, N, K],
      rows: rows.map(({ s, sm }) => ({ system: s.id, name: s.name, procs: sm.procs, seq_per_s: sm.seq_per_s, gflops: sm.gflops,
        ms_per_seq: sm.ms_per_seq, share_of_gemm_limit: limit ? sm.gflops / limit : null,
        vs_pytorch: torchRow ? sm.seq_per_s / torchRow.sm.seq_per_s : null, vs_best_peer: best ? sm.seq_per_s / best.sm.seq_per_s : null,
        spread_seq_per_s: sm.spread })),
      notes: caseNotes,
    };
  }

  if (gridPoints.length) {
    const body = [];
    for (const g of gridPoints) {
      const runs = raw.filter((r) => r.case === 'grid' && r.H === g.H && r.B === g.B && r.ok);
      const sm = summarize(runs);
      // limit and share: medians over the processes, each share paired with the limit of its own process
      const limits = runs.map((r) => r.gemm_limit_gflops).filter(Number.isFinite);
      const shares = runs.map((r) => r.share_of_gemm_limit).filter(Number.isFinite);
      const limit = limits.length ? median(limits) : undefined;
      const share = shares.length ? median(shares) : undefined;
      body.push([String(g.H), String(g.B), sm ? fmtNum(sm.seq_per_s) : 'failed', sm ? fmtNum(sm.gflops) : '-',
        `${g.B}x${4 * g.H}x${g.I + g.H}`, limit ? fmtNum(limit) : '-', fmtPct(share), spreadText(sm)]);
      summary.grid.push({ ...g, seq_per_s: sm?.seq_per_s ?? null, gflops: sm?.gflops ?? null, gemm_limit_gflops: limit ?? null,
        share_of_gemm_limit: share ?? null, spread_seq_per_s: sm?.spread ?? null, procs: sm?.procs ?? 0 });
    }
    out.push(`## Grid: lstm-native forward, 1 layer, T ${GRID_T}, I ${o.gridI ?? '= H'}, ${o.threads} threads`, '', `Machine: ${label}.`, '');
    out.push('GEMM limit: GFLOP/s of one sgemm of a step\'s gate product (M = B, N = 4H, K = I + H), measured in the same ' +
      'process right after the LSTM; share = LSTM GFLOP/s / that limit (median over processes). Above 100 % is possible: ' +
      'the kernel does half the FLOPs (I = H) as one large hoisted GEMM over all T*B rows.', '');
    out.push(table(['H', 'B', 'seq/s', 'GFLOP/s', 'GEMM shape M x N x K', 'GEMM limit GFLOP/s', 'share of GEMM limit', 'spread of seq/s'], body,
      ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'l']), '');
  }
  console.log(out.join('\n'));

  if (o.json) {
    writeFileSync(o.json, JSON.stringify({
      started: startedAt.toISOString(), machine: { label, cpu, node: process.version, loadavg_start: loadavg() },
      lstm_native: info, settings: { ...o, peers: o.peers }, systems: sysList.map((s) => ({ id: s.id, name: s.name, procs: s.procs, cases: s.cases })),
      gemm_limits: [...gemmLimit].map(([k, v]) => ({ shape: k.split(',').map(Number), gflops: v })),
      summary, raw,
    }, null, 1));
    log(`bench: wrote ${o.json}`);
  }
}

try {
  main();
} catch (err) {
  console.error(`bench: ${err.message}`);
  process.exit(1);
}
