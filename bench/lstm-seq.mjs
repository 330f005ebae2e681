#!/usr/bin/env node
// Sequences per second of one LSTM layer, forward (inference) and forward+backward (a training
// step without the optimizer), on the issue-2 shape by default: input 64, hidden 256, batch 32,
// 100 steps. Prints one JSON line per case after a table row, so runs can be collected.
//
//   node bench/lstm-seq.mjs [--I 64] [--H 256] [--B 32] [--T 100] [--layers 1] [--threads 2] [--reps 7]
//
// To time another build of the addon (e.g. the built-in GEMM), point node-gyp-build at it:
//   LSTM_NATIVE_BLAS=builtin LSTM_NATIVE_BUILD_DIR=/tmp/lb/build node scripts/build-native.mjs
//   LSTM_NATIVE_PREBUILD=/tmp/lb node bench/lstm-seq.mjs
import { parseArgs } from 'node:util';
import { LSTM, backendInfo, setNumThreads, tensor } from '../dist/index.js';
import { cpuInfo, machineLabel } from './lib/common.mjs';

const { values } = parseArgs({
  options: {
    I: { type: 'string', default: '64' }, H: { type: 'string', default: '256' },
    B: { type: 'string', default: '32' }, T: { type: 'string', default: '100' },
    layers: { type: 'string', default: '1' }, threads: { type: 'string', default: String(Math.min(2, cpuInfo().logicalCores)) },
    reps: { type: 'string', default: '7' }, seconds: { type: 'string', default: '0.5' },
  },
});
const [I, H, B, T, L, threads, reps] = ['I', 'H', 'B', 'T', 'layers', 'threads', 'reps'].map((k) => Number(values[k]));
const minSeconds = Number(values.seconds);
setNumThreads(threads);

const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
const x = tensor(new Float32Array(T * B * I).map((_, i) => Math.sin(i * 0.37)), [T, B, I]);
const gy = tensor(new Float32Array(T * B * H).fill(1e-3), [T, B, H]);

// FLOPs: 2 * 4H * (I_l + H) per step, sample and layer for forward; 3x that for a training step.
let fwdFlops = 0;
for (let l = 0; l < L; l++) fwdFlops += 2 * 4 * H * ((l === 0 ? I : H) + H) * T * B;

function time(fn) {
  fn(); // warm-up: allocates workspaces, wakes threads
  const perRep = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < minSeconds * 1000 || n < 2) { fn(); n++; t1 = performance.now(); }
    perRep.push((t1 - t0) / 1000 / n);
  }
  perRep.sort((a, b) => a - b);
  return { median: perRep[Math.floor(perRep.length / 2)], best: perRep[0] };
}

const info = backendInfo();
const fwd = time(() => lstm.forward(x));
const train = time(() => { lstm.forward(x); lstm.backward({ output: gy }); });
const label = machineLabel(cpuInfo(), info);
console.log(`# ${label}; Node ${process.version}`);
console.log(`# LSTM I=${I} H=${H} layers=${L} B=${B} T=${T}, median of ${reps} reps`);
console.log('| case | ms/batch | seq/s | GFLOP/s |');
console.log('|---|---:|---:|---:|');
for (const [name, t, flops] of [['forward', fwd, fwdFlops], ['forward+backward', train, 3 * fwdFlops]]) {
  const seqs = B / t.median;
  console.log(`| ${name} | ${(t.median * 1000).toFixed(2)} | ${seqs.toFixed(0)} | ${(flops / t.median / 1e9).toFixed(1)} |`);
}
console.log(JSON.stringify({ machine: label, I, H, L, B, T, ...info, forwardSeqPerSec: B / fwd.median, trainSeqPerSec: B / train.median }));
