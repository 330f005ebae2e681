// Quick start (`npm start`): fit a one-layer LSTM to the monthly airline-passenger series
// (data/airline-passengers.csv, 1949-1960) to predict next month from the last 12, with plain
// gradient descent written out by hand: forward, loss, backward, update. The models issue brings
// layers, losses and optimizers; this shows the LSTM module and its gradients alone.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LSTM, backendInfo, tensor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rows = readFileSync(join(here, '..', 'data', 'airline-passengers.csv'), 'utf8').trim().split('\n').slice(1);
const series = rows.map((line) => Number(line.split(',')[1]));
const scale = Math.max(...series);
const values = series.map((v) => v / scale);

// Windows of 12 months -> the 13th. Train on the first 2/3 of the series, test on the rest.
const T = 12;
const windows = [];
for (let s = 0; s + T < values.length; s++) windows.push({ x: values.slice(s, s + T), y: values[s + T] });
const split = Math.floor((values.length * 2) / 3) - T;
const train = windows.slice(0, split);
const test = windows.slice(split);

const H = 32;
const lstm = new LSTM({ inputSize: 1, hiddenSize: H, batchFirst: true, seed: 1 });
const head = { w: new Float32Array(H).map((_, i) => ((i * 7919) % 13) / 13 - 0.5), b: 0 };

function batch(set) {
  const x = new Float32Array(set.length * T);
  set.forEach((w, i) => x.set(w.x, i * T));
  return tensor(x, [set.length, T, 1]);
}

function predict(h, B) {
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let s = head.b;
    for (let j = 0; j < H; j++) s += head.w[j] * h[b * H + j];
    out[b] = s;
  }
  return out;
}

console.log('lstm-native backend:', backendInfo());
const lr = 0.05;
const xTrain = batch(train);
const started = performance.now();
for (let epoch = 1; epoch <= 300; epoch++) {
  // forwardAsync runs on libuv's pool: the event loop stays free while the LSTM computes.
  const { h } = await lstm.forwardAsync(xTrain);
  const B = train.length;
  const pred = predict(h.data, B);
  let loss = 0;
  const dh = new Float32Array(B * H);
  const gw = new Float32Array(H);
  let gb = 0;
  for (let b = 0; b < B; b++) {
    const err = pred[b] - train[b].y;
    loss += (err * err) / B;
    const g = (2 * err) / B;
    gb += g;
    for (let j = 0; j < H; j++) {
      gw[j] += g * h.data[b * H + j];
      dh[b * H + j] = g * head.w[j];
    }
  }
  lstm.zeroGrad();
  await lstm.backwardAsync({ h: tensor(dh, h.shape) });
  const params = lstm.namedParameters();
  const grads = lstm.namedGradients();
  for (const name of Object.keys(params)) {
    const p = params[name].data;
    const g = grads[name].data;
    for (let i = 0; i < p.length; i++) p[i] -= lr * 4 * g[i];
  }
  for (let j = 0; j < H; j++) head.w[j] -= lr * gw[j];
  head.b -= lr * gb;
  if (epoch === 1 || epoch % 50 === 0) console.log(`epoch ${String(epoch).padStart(3)}  train MSE ${loss.toFixed(5)}`);
}
const seconds = (performance.now() - started) / 1000;

const { h } = lstm.forward(batch(test));
const pred = predict(h.data, test.length);
let mae = 0;
test.forEach((w, b) => { mae += Math.abs(pred[b] - w.y) * scale / test.length; });
console.log(`trained 300 epochs on ${train.length} windows in ${seconds.toFixed(2)} s`);
console.log(`test: mean absolute error ${mae.toFixed(1)} thousand passengers per month ` +
  `(series mean ${(series.reduce((a, b) => a + b, 0) / series.length).toFixed(0)})`);
for (let b = test.length - 3; b < test.length; b++) {
  console.log(`  month ${split + T + b + 1}: predicted ${(pred[b] * scale).toFixed(0)}, actual ${(test[b].y * scale).toFixed(0)}`);
}
