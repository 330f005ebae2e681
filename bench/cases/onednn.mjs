// The oneDNN peer's data: one file per workload with lstm-native's seed-1 weights in oneDNN's
// layouts, the input, and lstm-native's output, which peers/onednn_lstm.cpp checks its own against
// before it times anything (inference only: W1, W3, W4).
//   node cases/onednn.mjs '{"kind":"prepare","case":"W1"}'  writes bench/models/<name>.lstmcase (if missing)
// The timed child is the C++ harness alone (run.mjs builds it into bench/build/ and starts it).
import { existsSync } from 'node:fs';
import { CASES, WORKLOADS, childSpec, lstmCasePath, runChild, sinData, writeFileAtomic } from '../lib/common.mjs';

const spec = childSpec();

/** PyTorch's (4H, K) gate-major rows as oneDNN's ldigo block (K, 4, H) of one layer. */
function toIgo(w, H, K) {
  const out = new Float32Array(K * 4 * H);
  for (let r = 0; r < 4 * H; r++) {  // r = g * H + o
    for (let k = 0; k < K; k++) out[k * 4 * H + r] = w[r * K + k];
  }
  return out;
}

async function prepare(shape) {
  const { I, H, L, B, T } = shape;
  const file = lstmCasePath(shape);
  if (existsSync(file)) return { data: file, built: false };
  if (L > 1 && I !== H) throw new Error('oneDNN stacks layers in one primitive only when I == H');
  const ours = await import(new URL('../../dist/index.js', import.meta.url).href);
  const lstm = new ours.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
  lstm.eval();
  const p = lstm.namedParameters();
  const x = sinData(T * B * I);
  const y = lstm.forward(ours.tensor(x, [T, B, I])).output.data;
  const head = new Int32Array([0x4d54534c, 1, I, H, L, B, T, 0]);
  const parts = [head, x];
  for (let l = 0; l < L; l++) parts.push(toIgo(p[`weight_ih_l${l}`].data, H, l === 0 ? I : H));
  for (let l = 0; l < L; l++) parts.push(toIgo(p[`weight_hh_l${l}`].data, H, H));
  for (let l = 0; l < L; l++) {
    const bi = p[`bias_ih_l${l}`].data, bh = p[`bias_hh_l${l}`].data;
    parts.push(bi.map((v, i) => v + bh[i]));
  }
  parts.push(y);
  writeFileAtomic(file, Buffer.concat(parts.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
  return { data: file, built: true };
}

runChild(async () => {
  const c = CASES[spec.case];
  if (!c) throw new Error(`unknown case ${spec.case}`);
  if (c.mode !== 'forward') throw new Error('the oneDNN peer runs inference only');
  if (spec.kind !== 'prepare') throw new Error('cases/onednn.mjs only prepares data: the C++ harness is the timed child');
  return prepare(WORKLOADS[c.shapes]);
});
