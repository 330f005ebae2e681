// @tensorflow/tfjs tf.layers.lstm in one child process, on the 'cpu' (pure JS) or 'wasm' backend.
//   node cases/tfjs.mjs '{"kind":"case","backend":"wasm","case":"W1","threads":2,"reps":7,"minTime":0.5}'
// Training: trainOnBatch with MSE on the last layer's final h and Adam (lr 1e-3), as the other systems.
// The wasm backend is single-threaded under Node (tfjs sets WASM_HAS_MULTITHREAD_SUPPORT=false when
// IS_NODE, tfjs issue #3830): threads requested and threads got are both in the result.
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { CASES, WORKLOADS, caseResult, childSpec, runChild, timeit } from '../lib/common.mjs';

const require = createRequire(import.meta.url);
const spec = childSpec();

runChild(async () => {
  const tf = require('@tensorflow/tfjs');
  const backend = spec.backend ?? 'cpu';
  const threads = spec.threads ?? 2;
  const info = { version: tf.version.tfjs, backend };
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
    info.threads_requested = threads;
    info.threads = wasm.getThreadsCount();
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  } else {
    await tf.setBackend('cpu');
    info.threads = 1;
  }
  await tf.ready();
  const c = CASES[spec.case];
  if (!c) throw new Error(`unknown case ${spec.case}`);
  const w = WORKLOADS[c.shapes];
  const m = tf.sequential();
  for (let l = 0; l < w.L; l++) {
    // the default 'orthogonal' recurrent initializer takes minutes of pure-JS init at H 256; init only
    const cfg = { units: w.H, returnSequences: l < w.L - 1, recurrentInitializer: 'glorotNormal' };
    if (l === 0) cfg.inputShape = [w.T, w.I];
    m.add(tf.layers.lstm(cfg));
  }
  const x = tf.randomNormal([w.B, w.T, w.I], 0, 1, 'float32', 1);
  const timing = { reps: spec.reps ?? 7, minTime: spec.minTime ?? 0.5, maxSec: spec.maxSec ?? 30, warmupSec: spec.warmupSec ?? 1 };
  let t;
  if (c.mode === 'forward') {
    t = await timeit(async () => { const y = m.predict(x); await y.data(); y.dispose(); }, timing);
  } else {
    m.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
    const y = tf.randomNormal([w.B, w.H], 0, 1, 'float32', 2);
    t = await timeit(async () => { await m.trainOnBatch(x, y); }, timing);
  }
  return caseResult(w, c.mode, t, info);
});
