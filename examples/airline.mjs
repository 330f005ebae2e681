// Airline passengers (data/airline-passengers.csv, monthly, 1949-1960): one-step-ahead forecasts of
// the last 48 months from the previous 12, trained on the first 96, against the seasonal naive
// forecast (same month last year) and PyTorch's LSTM with the same recipe
// (shared/baselines/airline.py --variant logdiff): the model sees standardised log-differences
// d_t = log y_t - log y_{t-1}; LSTM(1, 32) -> Linear on the last step, full-batch Adam 5e-3, MSE.
// The epoch count is chosen on months 85-96 (training on 1-84, checked every 50 epochs up to
// 1,000), then the model is refit on all 96 months from the same initialisation.
//   npm run example:airline                 (seeds 0-4; prints test RMSE per seed and mean +- sd)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, LSTM, Linear, Sequential, backendInfo } from '../dist/index.js';
import { cliOptions } from './lib/cli.mjs';

const o = cliOptions('usage: node examples/airline.mjs [--seeds 5] [--hidden 32] [--epochs 1000]', {
  seeds: 5, hidden: 32, window: 12, epochs: 1000, every: 50, lr: 5e-3,
});
const here = dirname(fileURLToPath(import.meta.url));
const y = readFileSync(join(here, '..', 'data', 'airline-passengers.csv'), 'utf8').trim().split('\n').slice(1)
  .map((line) => Number(line.split(',')[1]));
if (y.length !== 144 || y.some((v) => !(v > 0))) throw new Error('data/airline-passengers.csv: expected 144 positive monthly values');
const NTR = 96;
const W = o.window;
const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);
const rmse = (pred, ts) => Math.sqrt(ts.reduce((s, t, i) => s + (pred[i] - y[t]) ** 2, 0) / ts.length);
const testT = range(NTR, 144);
const seasonal = rmse(testT.map((t) => y[t - 12]), testT);
const lastValue = rmse(testT.map((t) => y[t - 1]), testT);

// standardised log-differences, with the training months' mean and standard deviation
const d = y.map((v, t) => (t === 0 ? NaN : Math.log(v) - Math.log(y[t - 1])));
const dTrain = d.slice(1, NTR);
const mu = dTrain.reduce((a, b) => a + b, 0) / dTrain.length;
const sd = Math.sqrt(dTrain.reduce((a, b) => a + (b - mu) ** 2, 0) / dTrain.length);
const s = d.map((v) => (v - mu) / sd);
const windows = (ts) => ({
  x: { data: Float32Array.from(ts.flatMap((t) => s.slice(t - W, t))), shape: [ts.length, W, 1] },
  y: { data: Float32Array.from(ts.map((t) => s[t])), shape: [ts.length, 1] },
});
const invert = (pred, ts) => ts.map((t, i) => y[t - 1] * Math.exp(pred.data[i] * sd + mu));
const trainT = range(W + 1, NTR);
const valT = range(NTR - 12, NTR);

const build = (seed) => new Sequential({
  lstm: new LSTM({ inputSize: 1, hiddenSize: o.hidden, batchFirst: true, returnSequences: false }),
  head: new Linear({ inFeatures: o.hidden, outFeatures: 1 }),
}, { seed });

/** Full-batch training on the windows ending at ts for `epochs`, checking valTs every `o.every` epochs when given. */
async function train(seed, ts, epochs, valTs) {
  const model = build(seed);
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const data = windows(ts);
  const curve = [];
  for (let done = 0; done < epochs; done += o.every) {
    const n = Math.min(o.every, epochs - done);
    await model.fit(data, { epochs: n, batchSize: ts.length, shuffle: false, loss: 'mse', optimizer });
    if (valTs) curve.push([done + n, rmse(invert(await model.predict(windows(valTs).x), valTs), valTs)]);
  }
  return { model, curve };
}

console.log(`# airline passengers, log-differences, LSTM(${o.hidden}), window ${W}, full-batch Adam ${o.lr}; ` +
  `seasonal naive RMSE ${seasonal.toFixed(2)}, last value ${lastValue.toFixed(2)}; ${JSON.stringify(backendInfo())}`);
const results = [];
const started = performance.now();
for (let seed = 0; seed < o.seeds; seed++) {
  const t0 = performance.now();
  const { curve } = await train(seed, trainT.filter((t) => t < NTR - 12), o.epochs, valT);
  const [bestEpochs, bestVal] = curve.reduce((a, b) => (b[1] < a[1] ? b : a));
  const { model } = await train(seed, trainT, bestEpochs);
  const test = rmse(invert(await model.predict(windows(testT).x), testT), testT);
  const rec = { seed, chosen_epochs: bestEpochs, val_rmse: +bestVal.toFixed(2), test_rmse: +test.toFixed(2),
    seconds: +((performance.now() - t0) / 1000).toFixed(1) };
  results.push(rec);
  console.log(JSON.stringify(rec));
}
const tests = results.map((r) => r.test_rmse);
const mean = tests.reduce((a, b) => a + b, 0) / tests.length;
const std = Math.sqrt(tests.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, tests.length - 1));
console.log(JSON.stringify({ task: 'airline', variant: 'logdiff', seeds: o.seeds, test_rmse_mean: +mean.toFixed(2), test_rmse_sd: +std.toFixed(2),
  seasonal_naive_rmse: +seasonal.toFixed(2), last_value_rmse: +lastValue.toFixed(2), wall_s: +((performance.now() - started) / 1000).toFixed(1) }));
console.log(`test RMSE ${mean.toFixed(2)} +- ${std.toFixed(2)} over ${o.seeds} seeds (PyTorch baseline: 17.5 +- 1.8); ` +
  `seasonal naive ${seasonal.toFixed(2)}, last value ${lastValue.toFixed(2)}`);
