#!/usr/bin/env node
// End-to-end training speed of the character model (Embedding -> LSTM -> Linear, cross-entropy,
// Adam with gradient clipping) on tinyshakespeare: V = 65, E = 64, H = 256, B = 32, T = 100.
// Prints the time for 100 training steps and the loss before and after.
//   node bench/charmodel-train.mjs [--steps 100] [--threads 2]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Adam, Embedding, Linear, LSTM, Sequential, backendInfo, clipGradNorm, losses, setNumThreads } from '../dist/index.js';
import { cpuInfo, machineLabel } from './lib/common.mjs';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '100' }, threads: { type: 'string', default: '2' } } });
const steps = Number(values.steps);
setNumThreads(Number(values.threads));
const text = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'tinyshakespeare.txt'), 'utf8');
const vocab = [...new Set(text)].sort();
const index = new Map(vocab.map((c, i) => [c, i]));
const ids = Int32Array.from(text, (c) => index.get(c));
const [V, E, H, B, T] = [vocab.length, 64, 256, 32, 100];

const model = new Sequential({
  embed: new Embedding({ numEmbeddings: V, embeddingDim: E }),
  lstm: new LSTM({ inputSize: E, hiddenSize: H, batchFirst: true }),
  head: new Linear({ inFeatures: H, outFeatures: V }),
}, { seed: 1 });
const opt = new Adam(model.parameters(), { lr: 2e-3 });

let cursor = 0;
function batch() {
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    if (cursor + T + 1 >= ids.length) cursor = 0;
    x.set(ids.subarray(cursor, cursor + T), b * T);
    y.set(ids.subarray(cursor + 1, cursor + T + 1), b * T);
    cursor += 997 * T; // spread the batch over the text
    cursor %= ids.length - T - 1;
  }
  return { x: { data: x, shape: [B, T] }, y: { data: y, shape: [B, T] } };
}

function step() {
  const { x, y } = batch();
  const logits = model.forward(x);
  const { loss, grad } = losses.crossEntropy(logits, y);
  model.zeroGrad();
  model.backward(grad);
  clipGradNorm(model.parameters(), 5);
  opt.step();
  return loss;
}

step(); // warm-up
const t0 = performance.now();
let first = 0;
let last = 0;
for (let i = 0; i < steps; i++) {
  last = step();
  if (i === 0) first = last;
}
const seconds = (performance.now() - t0) / 1000;
const info = backendInfo();
console.log(`# ${machineLabel(cpuInfo(), info)}; Node ${process.version}`);
console.log(`char model V=${V} E=${E} H=${H} B=${B} T=${T}: ${steps} training steps in ${seconds.toFixed(2)} s ` +
  `(${(seconds / steps * 1000).toFixed(1)} ms/step, ${(B * steps / seconds).toFixed(0)} seq/s); loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
