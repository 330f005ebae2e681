/**
 * model.fit and model.predict: it learns, each step is exactly a hand-written
 * forward/loss/backward/clip/step, padding never changes a result, history, metrics, schedules,
 * callbacks, early stopping, and the model is held while it trains.
 */
import { describe, expect, it } from 'vitest';
import { LstmError } from '../../lib/errors.js';
import { losses } from '../../lib/losses.js';
import { Adam, SGD } from '../../lib/optim/index.js';
import { clipGradNorm } from '../../lib/optim/clip.js';
import { StepLR } from '../../lib/schedule.js';
import type { Tensor } from '../../lib/tensor.js';
import type { Progress } from '../../lib/train/types.js';
import { bitsEqual, charModel, denseTask, regressor, sumTask } from './helpers.js';

describe('fit', () => {
  it('learns the running sum of ragged sequences', async () => {
    const model = regressor(1);
    const data = sumTask(256);
    const history = await model.fit(data, { epochs: 30, batchSize: 32, loss: 'mse', seed: 1,
      optimizer: new Adam(model.parameters(), { lr: 1e-2 }) });
    expect(history.epochs).toHaveLength(30);
    const first = history.epochs[0]!.loss;
    const last = history.epochs[29]!.loss;
    expect(last).toBeLessThan(first * 0.1);
    const test = sumTask(64, 99);
    const pred = await model.predict(test.x);
    expect(pred.shape).toEqual([64, 1]);
    let se = 0;
    for (let i = 0; i < 64; i++) se += (pred.data[i]! - test.y[i]![0]!) ** 2;
    expect(se / 64).toBeLessThan(0.05);
  });

  it('takes exactly the steps of a hand-written forward/loss/backward/clip/step loop', async () => {
    const { x, y } = denseTask(40, 6, 3);
    const a = regressor(7, 3, 10);
    const b = regressor(7, 3, 10);
    expect(bitsEqual(a.parameters().values, b.parameters().values)).toBe(true);
    const optA = new Adam(a.parameters(), { lr: 1e-2 });
    const losses1: number[] = [];
    await a.fit({ x, y }, { epochs: 2, batchSize: 16, shuffle: false, loss: 'mse', optimizer: optA, clipGradNorm: 0.5,
      callbacks: { onBatchEnd: (p) => { losses1.push(p.loss); } } });
    const optB = new Adam(b.parameters(), { lr: 1e-2 });
    const losses2: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let from = 0; from < 40; from += 16) {
        const n = Math.min(16, 40 - from);
        const xb: Tensor = { data: x.data.slice(from * 18, (from + n) * 18), shape: [n, 6, 3] };
        const yb: Tensor = { data: y.data.slice(from, from + n), shape: [n, 1] };
        optB.zeroGrad();
        const out = b.forward(xb);
        const { loss, grad } = losses.mse(out, yb);
        b.backward(grad, { inputGrad: false });
        clipGradNorm(b.parameters(), 0.5);
        optB.step();
        losses2.push(loss);
      }
    }
    expect(losses1).toEqual(losses2);
    expect(bitsEqual(a.parameters().values, b.parameters().values)).toBe(true);
  });

  it('pads ragged sequences so that a padded step never changes a result', async () => {
    const model = regressor(3);
    const { x, y } = sumTask(12, 4, 2, 2, 9);
    const together = await model.predict(x, { batchSize: 12 });
    // The same batch as a padded tensor with garbage in the padding, and lengths: the same bits.
    const T = Math.max(...x.map((s) => s.length));
    const padded = new Float32Array(12 * T * 2).fill(1e6);
    x.forEach((s, i) => s.forEach((step, t) => padded.set(step, (i * T + t) * 2)));
    const fromTensor = await model.predict({ data: padded, shape: [12, T, 2] }, { lengths: x.map((s) => s.length) });
    expect(bitsEqual(together.data, fromTensor.data)).toBe(true);
    // Alone, each sequence gives the same value up to the products' rounding.
    const alone = await model.predict(x, { batchSize: 1 });
    for (let i = 0; i < 12; i++) expect(alone.data[i]).toBeCloseTo(together.data[i]!, 5);
    // The epoch loss over padded batches equals the mean of per-sequence losses.
    const opt = new SGD(model.parameters(), { lr: 1e-12 });
    const h = await model.fit({ x, y }, { epochs: 1, batchSize: 12, optimizer: opt, shuffle: false });
    let mean = 0;
    for (let i = 0; i < 12; i++) mean += (alone.data[i]! - y[i]![0]!) ** 2 / 12;
    expect(h.epochs[0]!.loss).toBeCloseTo(mean, 6);
  });

  it('masks padded steps of per-step targets out of the loss', async () => {
    const model = charModel(2);
    const x = [[1, 2, 3, 4], [5, 6], [0, 1, 2]];
    const y = [[2, 3, 4, 5], [6, 0], [1, 2, 3]];
    const pred = await model.predict(x);
    expect(pred.shape).toEqual([3, 4, 7]);
    // Padded positions of the prediction are zero.
    expect(Array.from(pred.data.subarray((1 * 4 + 2) * 7, (1 * 4 + 4) * 7)).every((v) => v === 0)).toBe(true);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < 3; i++) {
      for (let t = 0; t < x[i]!.length; t++) {
        const row = pred.data.subarray((i * 4 + t) * 7, (i * 4 + t + 1) * 7);
        const { loss } = losses.crossEntropy({ data: row.slice(), shape: [1, 7] }, { data: Int32Array.of(y[i]![t]!), shape: [1] });
        sum += loss; n++;
      }
    }
    const h = await model.fit({ x, y }, { epochs: 1, batchSize: 3, shuffle: false, optimizer: new SGD(model.parameters(), { lr: 1e-12 }),
      metrics: ['accuracy', 'perplexity', 'bitsPerChar'] });
    expect(h.epochs[0]!.loss).toBeCloseTo(sum / n, 5);
    expect(h.epochs[0]!.metrics.perplexity).toBeCloseTo(Math.exp(sum / n), 4);
    expect(h.epochs[0]!.metrics.bitsPerChar).toBeCloseTo(sum / n / Math.LN2, 5);
    expect(h.epochs[0]!.metrics.accuracy).toBeGreaterThanOrEqual(0);
  });

  it('reports progress, history, validation and a per-step schedule', async () => {
    const model = regressor(4);
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const schedule = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const seen: Progress[] = [];
    const epochsSeen: number[] = [];
    const h = await model.fit(sumTask(50), {
      epochs: 2, batchSize: 20, optimizer: opt, schedule, validationSplit: 0.2, metrics: ['mae', 'rmse'],
      callbacks: { onBatchEnd: (p) => { seen.push(p); }, onEpochEnd: (r) => { epochsSeen.push(r.epoch); } },
    });
    expect(seen.map((p) => [p.epoch, p.step])).toEqual([[1, 1], [1, 2], [2, 1], [2, 2]]);
    expect(seen.map((p) => p.lr)).toEqual([0.01, 0.005, 0.0025, 0.00125]);
    expect(seen[0]!.stepsPerEpoch).toBe(2);
    expect(seen[3]!.eta).toBe(0);
    expect(seen[0]!.eta).toBeGreaterThan(0);
    expect(seen.every((p) => p.samplesPerSec > 0 && Number.isFinite(p.loss))).toBe(true);
    expect(epochsSeen).toEqual([1, 2]);
    const r = h.epochs[1]!;
    expect(r.valLoss).toBeGreaterThan(0);
    expect(Object.keys(r.metrics).sort()).toEqual(['mae', 'rmse']);
    expect(Object.keys(r.valMetrics).sort()).toEqual(['mae', 'rmse']);
    expect(r.metrics.rmse).toBeGreaterThanOrEqual(r.metrics.mae!);
    expect(r.lr).toBe(0.000625);  // the lr the next step would use
    expect(h.monitor).toBe('valLoss');
    expect(h.bestEpoch).not.toBeNull();
  });

  it('stops early after patience epochs without improvement and restores the best weights', async () => {
    const model = regressor(5);
    const opt = new SGD(model.parameters(), { lr: 0.5 });  // large enough to make the loss move around
    const weights: Float32Array[] = [];
    const h = await model.fit(sumTask(40), {
      epochs: 50, batchSize: 40, optimizer: opt, earlyStopping: { monitor: 'loss', patience: 2, restoreBest: true, minDelta: 10 },
      callbacks: { onEpochEnd: () => { weights.push(model.parameters().values.slice()); } },
    });
    // minDelta 10 means nothing after the first epoch counts as an improvement: 2 epochs without one stop the run.
    expect(h.stoppedEarly).toBe(true);
    expect(h.epochs).toHaveLength(3);
    expect(h.bestEpoch).toBe(1);
    expect(bitsEqual(model.parameters().values, weights[0]!)).toBe(true);
  });

  it('holds the model while training: forward throws ERR_LSTM_BUSY, stateDict gives a snapshot', async () => {
    const model = regressor(6);
    const { x, y } = denseTask(64, 20, 2);
    let busy: unknown = null;
    let snapshot = 0;
    const timer = setInterval(() => {
      try { model.forward({ data: new Float32Array(40), shape: [1, 20, 2] }); } catch (e) { busy = e; }
      snapshot = Object.keys(model.stateDict()).length;
    }, 1);
    try {
      await model.fit({ x, y }, { epochs: 3, batchSize: 8 });
    } finally {
      clearInterval(timer);
    }
    expect(busy).toBeInstanceOf(LstmError);
    expect((busy as LstmError).code).toBe('ERR_LSTM_BUSY');
    expect((busy as Error).message).toMatch(/busy with fit/);
    expect(snapshot).toBe(6);
    expect(() => model.forward({ data: new Float32Array(40), shape: [1, 20, 2] })).not.toThrow();
  });

  it('stops the run with the error a callback throws, and releases the model', async () => {
    const model = regressor(7);
    const boom = new Error('boom');
    let calls = 0;
    await expect(model.fit(sumTask(40), { epochs: 5, batchSize: 8,
      callbacks: { onBatchEnd: () => { calls++; if (calls === 2) throw boom; } } })).rejects.toBe(boom);
    expect(calls).toBe(2);
    await expect(model.fit(sumTask(40), { epochs: 1, batchSize: 8,
      callbacks: { onEpochEnd: async () => { await new Promise((r) => setTimeout(r, 1)); throw boom; } } })).rejects.toBe(boom);
    expect(model.block.busy).toBeNull();
  });

  it('stops at the first epoch without improvement with patience 0, and monitors a metric of an iterable', async () => {
    const model = regressor(5);
    const { x, y } = sumTask(40);
    const source = { async *[Symbol.asyncIterator]() { yield { x, y }; } };
    const h = await model.fit(source, { epochs: 20, optimizer: new SGD(model.parameters(), { lr: 0.5 }), metrics: ['mae'],
      earlyStopping: { monitor: 'mae', minDelta: 10 } });
    expect(h.epochs).toHaveLength(2);
    expect(h.monitor).toBe('mae');
    expect(h.bestValue).toBe(h.epochs[0]!.metrics.mae);
  });

  it('trains on an async iterable of ready batches, iterated again every epoch', async () => {
    const model = regressor(8);
    const { x, y } = sumTask(60);
    const source = {
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < 60; i += 20) yield { x: x.slice(i, i + 20), y: y.slice(i, i + 20) };
      },
    };
    const steps: number[] = [];
    const h = await model.fit(source, { epochs: 2, callbacks: { onBatchEnd: (p) => { steps.push(p.step); } } });
    expect(steps).toEqual([1, 2, 3, 1, 2, 3]);
    expect(h.epochs[1]!.loss).toBeLessThan(h.epochs[0]!.loss * 2);
    async function* once() { yield { x: x.slice(0, 20), y: y.slice(0, 20) }; }
    await expect(model.fit(once(), { epochs: 2 })).rejects.toThrow(/yielded no batches in epoch 2/);
  });

  it('trains class-id targets with crossEntropy by default', async () => {
    const model = regressor(9, 2, 12, 3);
    const { x } = sumTask(90, 11);
    const y = { data: Int32Array.from(x, (s) => { const sum = s.reduce((a, step) => a + step[0]!, 0); return sum < -0.4 ? 0 : sum > 0.4 ? 2 : 1; }), shape: [90] };
    const h = await model.fit({ x, y }, { epochs: 40, batchSize: 30, metrics: ['accuracy'],
      optimizer: new Adam(model.parameters(), { lr: 2e-2 }) });
    expect(h.epochs[39]!.metrics.accuracy).toBeGreaterThan(0.85);
    expect(h.epochs[39]!.loss).toBeLessThan(h.epochs[0]!.loss / 2);
  });
});
