// brain.js 1.6.1 recurrent.LSTMTimeStep in one child process. brain.js has no batching: each sequence
// runs (and trains, weights updated after every sequence) alone, so seq/s is measured on a few
// sequences (nseq) at batch 1. LSTMTimeStep always adds an output layer (H -> outputSize, here I)
// and a loss at every step; FLOPs are counted with the same gate-only convention as everyone else.
//   node cases/brain.mjs '{"kind":"case","case":"W1","reps":7,"minTime":0.5}'
import { createRequire } from 'node:module';
import { CASES, WORKLOADS, caseResult, childSpec, runChild, timeit } from '../lib/common.mjs';

const require = createRequire(import.meta.url);
const spec = childSpec();
const NSEQ = { W1: 8, W3: 2, W4: 1 };

runChild(async () => {
  const brain = require('brain.js');
  const c = CASES[spec.case];
  if (!c) throw new Error(`unknown case ${spec.case}`);
  const w = WORKLOADS[c.shapes];
  const nseq = spec.nseq ?? NSEQ[c.shapes];
  const net = new brain.recurrent.LSTMTimeStep({ inputSize: w.I, hiddenLayers: Array(w.L).fill(w.H), outputSize: w.I });
  const seqs = [];
  for (let s = 0; s < nseq; s++) {
    const seq = [];
    for (let t = 0; t < w.T; t++) {
      const v = new Array(w.I);
      for (let i = 0; i < w.I; i++) v[i] = 0.5 * Math.sin(0.1 * t + 0.7 * i + s);
      seq.push(v);
    }
    seqs.push(seq);
  }
  net.train(seqs.slice(0, 1), { iterations: 1, errorThresh: 0 }); // initialises the model
  const timing = { reps: spec.reps ?? 7, minTime: spec.minTime ?? 0.5, maxSec: spec.maxSec ?? 30, warmup: 1, warmupSec: spec.warmupSec ?? 1 };
  const fn = c.mode === 'forward'
    ? () => { for (const s of seqs) net.run(s); }
    : () => { net.train(seqs, { iterations: 1, errorThresh: 0 }); };
  const t = await timeit(fn, timing);
  return caseResult({ ...w, B: 1 }, c.mode, t, {
    batch: nseq, version: require('brain.js/package.json').version, note: 'batch 1 (no batching in brain.js)',
  });
});
