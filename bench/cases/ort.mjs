// onnxruntime-node's CPU LSTM op in one child process (inference only: W1, W3, W4).
//   node cases/ort.mjs '{"kind":"prepare","case":"W1"}'  builds bench/models/<name>.onnx (if missing)
//        from lstm-native's seed-1 weights and checks ORT's y, h, c against lstm-native's forward
//   node cases/ort.mjs '{"kind":"case","case":"W1","threads":2,"reps":7,"minTime":0.5}'
// The timed child loads only onnxruntime-node (lstm-native's OpenBLAS threads are not in it).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CASES, WORKLOADS, caseResult, childSpec, runChild, sinData, timeit, workloadFile, writeFileAtomic } from '../lib/common.mjs';

const require = createRequire(import.meta.url);
const spec = childSpec();

const modelPath = (shape) => workloadFile(shape, 'onnx');

async function prepare(shape) {
  const { I, H, L, B, T } = shape;
  const file = modelPath(shape);
  const ours = await import(new URL('../../dist/index.js', import.meta.url).href);
  const lstm = new ours.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
  let built = false;
  if (!existsSync(file)) {
    const { buildLstmOnnx } = await import('../lib/onnx.mjs');
    const bytes = buildLstmOnnx({ I, H, L, B, T, params: lstm.namedParameters() });
    writeFileAtomic(file, bytes);
    built = true;
  }
  // Check: same input through ORT and lstm-native.
  const ort = require('onnxruntime-node');
  const x = sinData(T * B * I);
  const sess = await ort.InferenceSession.create(readFileSync(file), { intraOpNumThreads: 1 });
  const res = await sess.run({ x: new ort.Tensor('float32', x, [T, B, I]) });
  lstm.eval();
  const ref = lstm.forward(ours.tensor(x, [T, B, I]));
  let maxDiff = 0;
  for (const [k, r] of [['y', ref.output], ['h', ref.h], ['c', ref.c]]) {
    const a = res[k].data;
    if (a.length !== r.data.length) throw new Error(`ORT output ${k} has ${a.length} values, lstm-native ${r.data.length}`);
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - r.data[i]));
  }
  await sess.release();
  if (!(maxDiff < 1e-3)) throw new Error(`ORT model disagrees with lstm-native: max abs diff ${maxDiff}`);
  return { model: file, built, max_abs_diff_vs_ours: maxDiff };
}

async function timed(shape, threads, timing) {
  const { I, B, T } = shape;
  const ort = require('onnxruntime-node');
  const file = modelPath(shape);
  if (!existsSync(file)) throw new Error(`model ${file} missing (the prepare step did not run)`);
  const sess = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = { x: new ort.Tensor('float32', sinData(T * B * I), [T, B, I]) };
  const t = await timeit(async () => { await sess.run(feeds); }, { ...timing, warmup: 3 });
  await sess.release();
  return caseResult(shape, 'forward', t, { version: require('onnxruntime-node/package.json').version, intra_op_threads: threads });
}

runChild(async () => {
  const c = CASES[spec.case];
  if (!c) throw new Error(`unknown case ${spec.case}`);
  if (c.mode !== 'forward') throw new Error('onnxruntime-node runs inference only');
  const shape = WORKLOADS[c.shapes];
  if (spec.kind === 'prepare') return prepare(shape);
  return timed(shape, spec.threads ?? 2, { reps: spec.reps ?? 7, minTime: spec.minTime ?? 0.5, maxSec: spec.maxSec ?? 30, warmupSec: spec.warmupSec ?? 1 });
});
