#!/usr/bin/env node
// The cost of model.fit over the same training steps written by hand, on the issue-20 shape:
// input 64, hidden 256, batch 32, 100 steps, LSTM (last step) -> Linear(1), mse, Adam, clip 1.
// Rounds alternate hand / fit / sync (each `--steps` optimizer steps) so drift on a shared machine
// hits all alike; the overhead is the ratio of the medians of their seconds per step. The process's
// CPU time per step (all threads, process.cpuUsage) is printed beside: on a loaded machine it moves
// less than wall time.
//
// hand:  zeroGrad, forwardAsync, mse, backwardAsync (no input gradient), clipGradNorm, step, on a
//        fixed batch: the loop a user writes with this package's async calls.
// sync:  the same with forward/backward (blocks the event loop; for reference).
// fit:   model.fit on N = 32 * steps sequences as a tensor (N, T, I): shuffled, batched,
//        progress callback, history.
//
//   node bench/fit-overhead.mjs [--I 64] [--H 256] [--B 32] [--T 100] [--steps 20] [--rounds 7] [--threads 2]
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Adam, Linear, LSTM, Random, Sequential, backendInfo, clipGradNorm, losses, setNumThreads } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    I: { type: 'string', default: '64' }, H: { type: 'string', default: '256' },
    B: { type: 'string', default: '32' }, T: { type: 'string', default: '100' },
    steps: { type: 'string', default: '20' }, rounds: { type: 'string', default: '7' },
    threads: { type: 'string', default: String(Math.min(2, cpus().length)) },
  },
});
const [I, H, B, T, steps, rounds, threads] = ['I', 'H', 'B', 'T', 'steps', 'rounds', 'threads'].map((k) => Number(values[k]));
setNumThreads(threads);

const makeModel = () => new Sequential({
  lstm: new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, returnSequences: false }),
  head: new Linear({ inFeatures: H, outFeatures: 1 }),
}, { seed: 1 });

const N = B * steps;
const xAll = new Float32Array(N * T * I);
new Random(2).uniform(xAll, -1, 1);
const yAll = new Float32Array(N);
new Random(3).uniform(yAll, -1, 1);
const xb = { data: xAll.slice(0, B * T * I), shape: [B, T, I] };
const yb = { data: yAll.slice(0, B), shape: [B, 1] };

/** Runs `body` and returns [wall seconds, CPU seconds] per step. */
async function timed(body) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const c = process.cpuUsage(c0);
  return [(performance.now() - t0) / 1000 / steps, (c.user + c.system) / 1e6 / steps];
}

async function hand(model, opt, async) {
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const out = async ? await model.forwardAsync(xb) : model.forward(xb);
    const { grad } = losses.mse(out, yb);
    if (async) await model.backwardAsync(grad, { inputGrad: false }); else model.backward(grad, { inputGrad: false });
    clipGradNorm(model.parameters(), 1);
    opt.step();
  }
}

async function fit(model, opt) {
  let n = 0;
  await model.fit({ x: { data: xAll, shape: [N, T, I] }, y: { data: yAll, shape: [N, 1] } }, {
    epochs: 1, batchSize: B, loss: 'mse', optimizer: opt, clipGradNorm: 1, seed: 1,
    callbacks: { onBatchEnd: () => { n++; } },
  });
  if (n !== steps) throw new Error(`fit ran ${n} steps, expected ${steps}`);
}

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const models = { hand: makeModel(), sync: makeModel(), fit: makeModel() };
const opts = Object.fromEntries(Object.entries(models).map(([k, m]) => [k, new Adam(m.parameters(), { lr: 1e-3 })]));
// Warm-up: workspaces, thread pools, JIT.
await hand(models.hand, opts.hand, true);
await hand(models.sync, opts.sync, false);
await fit(models.fit, opts.fit);
const times = { hand: [], sync: [], fit: [] };
const cpu = { hand: [], sync: [], fit: [] };
const record = (k, [wall, c]) => { times[k].push(wall); cpu[k].push(c); };
for (let r = 0; r < rounds; r++) {
  record('hand', await timed(() => hand(models.hand, opts.hand, true)));
  record('fit', await timed(() => fit(models.fit, opts.fit)));
  record('sync', await timed(() => hand(models.sync, opts.sync, false)));
}
const info = backendInfo();
const cpuName = cpus()[0]?.model ?? 'unknown CPU';
const [load1] = (await import('node:os')).loadavg();
console.log(`fit overhead: I ${I}, H ${H}, B ${B}, T ${T}; ${steps} steps x ${rounds} rounds; ${cpuName}, ${cpus().length} cores, load ${load1.toFixed(1)}, ` +
  `Node ${process.version}, ${info.blas} GEMM, ${info.isa}, ${info.threads} threads`);
console.log('');
console.log('| loop | wall ms/step (median) | min | max | vs hand | CPU ms/step (median) | vs hand |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const ref = median(times.hand);
const refCpu = median(cpu.hand);
const pct = (v, r) => `${((v / r - 1) * 100).toFixed(2)}%`;
for (const k of ['hand', 'fit', 'sync']) {
  const m = median(times[k]);
  const c = median(cpu[k]);
  console.log(`| ${k} | ${(m * 1e3).toFixed(2)} | ${(Math.min(...times[k]) * 1e3).toFixed(2)} | ${(Math.max(...times[k]) * 1e3).toFixed(2)} | ` +
    `${k === 'hand' ? '' : pct(m, ref)} | ${(c * 1e3).toFixed(2)} | ${k === 'hand' ? '' : pct(c, refCpu)} |`);
}
console.log(JSON.stringify({ bench: 'fit-overhead', I, H, B, T, steps, rounds, threads: info.threads, blas: info.blas,
  msPerStep: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v) * 1e3])),
  cpuMsPerStep: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v) * 1e3])),
  overheadPct: (median(times.fit) / ref - 1) * 100, cpuOverheadPct: (median(cpu.fit) / refCpu - 1) * 100 }));
