// Quick start (`npm start`): forecast the monthly airline-passenger series (data/airline-passengers.csv,
// 1949-1960) one month ahead from the previous 12, with an LSTM and a linear head trained by Adam.
// Train on the first 2/3 of the series, test on the rest (the classic split).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, CosineAnnealingLR, LSTM, Linear, Sequential, backendInfo, losses, tensor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rows = readFileSync(join(here, '..', 'data', 'airline-passengers.csv'), 'utf8').trim().split('\n').slice(1);
const series = rows.map((line) => Number(line.split(',')[1]));

// Scale with the training part's range only, so the test months stay unseen.
const T = 12;
const trainEnd = Math.floor((series.length * 2) / 3);
const lo = Math.min(...series.slice(0, trainEnd));
const hi = Math.max(...series.slice(0, trainEnd));
const scaled = series.map((v) => (v - lo) / (hi - lo));

function windows(from, to) {
  const xs = [];
  const ys = [];
  for (let s = from; s + T < to; s++) { xs.push(...scaled.slice(s, s + T)); ys.push(scaled[s + T]); }
  return { x: tensor(xs, [ys.length, T, 1]), y: tensor(ys, [ys.length, 1]) };
}
const train = windows(0, trainEnd);
const test = windows(trainEnd - T, series.length);

const model = new Sequential({
  lstm: new LSTM({ inputSize: 1, hiddenSize: 32, batchFirst: true, returnSequences: false }),
  head: new Linear({ inFeatures: 32, outFeatures: 1 }),
}, { seed: 7 });
const epochs = 400;
const opt = new Adam(model.parameters(), { lr: 1e-2 });
// The lr decays to 1e-4 over the run: at a constant 1e-2 the last epochs still jump around, and
// where training stops would depend on float rounding (e.g. the GEMM backend).
const schedule = new CosineAnnealingLR(opt, { tMax: epochs, etaMin: 1e-4 });

console.log('lstm-native', backendInfo());
const started = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  const { loss, grad } = losses.mse(model.forward(train.x), train.y);
  model.zeroGrad();
  model.backward(grad, { inputGrad: false });  // the data needs no gradient
  opt.step();
  schedule.step();
  if (epoch === 1 || epoch % 100 === 0) console.log(`epoch ${String(epoch).padStart(3)}  train MSE ${loss.toFixed(5)}`);
}
const seconds = (performance.now() - started) / 1000;

model.eval();
const pred = model.forward(test.x, { noGrad: true }).data;
const unscale = (v) => v * (hi - lo) + lo;
let mae = 0;
let naive = 0;
for (let i = 0; i < pred.length; i++) {
  mae += Math.abs(unscale(pred[i]) - unscale(test.y.data[i])) / pred.length;
  naive += Math.abs(unscale(test.x.data[i * T + T - 1]) - unscale(test.y.data[i])) / pred.length;
}
console.log(`trained ${epochs} epochs on ${train.y.shape[0]} windows in ${seconds.toFixed(2)} s`);
console.log(`test (${pred.length} months, 1958-1960): mean absolute error ${mae.toFixed(1)} thousand passengers ` +
  `(repeating last month: ${naive.toFixed(1)})`);
for (let i = pred.length - 3; i < pred.length; i++) {
  console.log(`  ${rows[trainEnd + i].split(',')[0].replaceAll('"', '')}: predicted ${unscale(pred[i]).toFixed(0)}, ` +
    `actual ${unscale(test.y.data[i]).toFixed(0)}`);
}
