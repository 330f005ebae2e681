/**
 * Bad input to fit, predict and Trainer: a TypeError or RangeError naming the argument, what was
 * expected and what came in, before any work (no step taken, no callback called, no file written).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Adam, SGD } from '../../lib/optim/index.js';
import { StepLR } from '../../lib/schedule.js';
import { Trainer } from '../../lib/train/trainer.js';
import type { FitOptions } from '../../lib/train/types.js';
import { bitsEqual, charModel, denseTask, regressor, sumTask } from './helpers.js';

/** Expects fit to reject with `Kind` matching `message`, having changed nothing. */
async function rejectsBeforeWork(data: unknown, options: unknown, Kind: typeof TypeError | typeof RangeError, message: RegExp,
  model = regressor(1)) {
  const before = model.parameters().values.slice();
  const opt = new Adam(model.parameters());
  const dir = path.join(os.tmpdir(), `lstm-fit-never-${process.pid}-${Math.random()}`);
  let called = false;
  const o = options && typeof options === 'object' && !Array.isArray(options)
    ? { optimizer: opt, checkpoint: { dir }, callbacks: { onTrainBegin: () => { called = true; } }, ...options } : options;
  const err = await model.fit(data as never, o as FitOptions).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Kind);
  expect((err as Error).message).toMatch(message);
  expect(opt.stepCount).toBe(0);
  expect(called).toBe(false);
  expect(fs.existsSync(dir)).toBe(false);
  expect(bitsEqual(model.parameters().values, before)).toBe(true);
  expect(model.block.busy).toBeNull();
}

const good = sumTask(10);

describe('fit argument checks', () => {
  it('rejects empty data and mismatched x/y counts', async () => {
    await rejectsBeforeWork({ x: [], y: [] }, {}, RangeError, /fit: data: x must hold at least one sequence, got an empty array/);
    await rejectsBeforeWork({ x: good.x, y: good.y.slice(0, 7) }, {}, RangeError, /fit: data: x has 10 sequences but y has 7/);
    await rejectsBeforeWork({ x: [[[1, 2]], []], y: [[1], [2]] }, {}, RangeError, /x\[1\] must have at least one step, got an empty array/);
    await rejectsBeforeWork(null, {}, TypeError, /fit: data must be \{ x, y \}, \{ tokens \} or an async iterable of batches, got null/);
    await rejectsBeforeWork({ x: good.x, y: good.y, weights: [] }, {}, RangeError, /data has an unknown field "weights"/);
  });

  it('rejects inputs of the wrong shape or with non-finite values', async () => {
    await rejectsBeforeWork({ x: [[[1, 2], [3]]], y: [[1]] }, {}, RangeError, /x\[0\]\[1\] must have 2 features \(the model's inputSize\), got 1/);
    await rejectsBeforeWork({ x: [[[1, NaN]]], y: [[1]] }, {}, RangeError, /x\[0\]\[0\]\[1\] must be finite, got the number NaN/);
    const { x, y } = denseTask(4, 5, 3);
    await rejectsBeforeWork({ x, y }, {}, RangeError, /fit: data: x must have shape \[N, T, 2\] \(inputSize 2\), got \[4, 5, 3\]/);
    await rejectsBeforeWork({ x: good.x, y: good.y, lengths: [1] }, {}, RangeError, /lengths applies to a padded tensor x/);
    const d = denseTask(4, 5, 2);
    await rejectsBeforeWork({ ...d, lengths: [5, 5, 6, 1] }, {}, RangeError, /lengths\[2\] must be an integer in \[1, 5\] \(T\), got the number 6/);
  });

  it('rejects targets that do not fit the loss', async () => {
    await rejectsBeforeWork({ x: good.x, y: good.y.map((r) => [...r, 0]) }, {}, RangeError, /y\[0\] must have 1 values \(the model's output size\), got 2/);
    const d = denseTask(4, 5, 2);
    await rejectsBeforeWork({ x: d.x, y: { data: new Float32Array(8), shape: [4, 2] } }, {}, RangeError,
      /y must have shape \[N, 1\] \(targets per sequence, the model's output has 1 features\), got \[4, 2\]/);
    await rejectsBeforeWork({ x: d.x, y: d.y }, { loss: 'crossEntropy' }, TypeError, /y.data must be an Int32Array of class ids for this loss/);
    await rejectsBeforeWork({ x: d.x, y: [0, 0, 3, 0] }, { loss: 'crossEntropy' }, RangeError, /y\[2\] must be an integer in \[0, 1\), got the number 3/,
      regressor(1));
    await rejectsBeforeWork({ x: [[1, 2], [3]], y: [[2, 3], [4, 5]] }, {}, RangeError, /y\[1\] must have 1 steps like x\[1\], got 2/, charModel(1));
    await rejectsBeforeWork({ x: [[1, 2, 8]], y: [[2, 3, 4]] }, {}, RangeError, /x\[0\]\[2\] must be an integer in \[0, 7\), got the number 8/, charModel(1));
  });

  it('rejects bad option values', async () => {
    await rejectsBeforeWork(good, { batchSize: 0 }, RangeError, /fit: batchSize must be an integer >= 1, got the number 0/);
    await rejectsBeforeWork(good, { epochs: 1.5 }, RangeError, /fit: epochs must be an integer >= 1, got the number 1.5/);
    await rejectsBeforeWork(good, { batchSize: '32' }, TypeError, /fit: batchSize must be an integer >= 1, got the string "32"/);
    await rejectsBeforeWork(good, { loss: 'mean' }, RangeError, /fit: loss must be one of 'mse', 'mae', 'huber', 'crossEntropy', 'bceWithLogits' or a function, got the string "mean"/);
    await rejectsBeforeWork(good, { validationSplit: 1 }, RangeError, /validationSplit must be a finite number in \[0, 1\)/);
    await rejectsBeforeWork(good, { validationSplit: 0.5, validationData: good }, RangeError, /pass validationData or validationSplit, not both/);
    await rejectsBeforeWork(good, { earlyStopping: { monitor: 'valLoss' } }, RangeError, /earlyStopping.monitor valLoss needs validationData or validationSplit/);
    await rejectsBeforeWork(good, { earlyStopping: { monitor: 'accuracy' } }, RangeError, /earlyStopping.monitor accuracy needs the metric accuracy in metrics/);
    await rejectsBeforeWork(good, { metrics: ['perplexity'] }, RangeError, /metrics: perplexity needs class-id targets/);
    await rejectsBeforeWork(good, { metrics: ['f1'] }, RangeError, /metrics: unknown metric the string "f1"; known: accuracy, perplexity, bitsPerChar, mae, rmse/);
    await rejectsBeforeWork(good, { signal: 'stop' }, TypeError, /fit: signal must be an AbortSignal, got the string "stop"/);
    await rejectsBeforeWork(good, { onNonFinite: 'ignore' }, RangeError, /fit: onNonFinite must be 'stop' or 'skip', got the string "ignore"/);
    await rejectsBeforeWork(good, { checkpoint: { dir: '' } }, TypeError, /fit: checkpoint.dir must be a non-empty string/);
    await rejectsBeforeWork(good, { clipGradNorm: -1 }, RangeError, /fit: clipGradNorm must be a finite number > 0, got the number -1/);
    await rejectsBeforeWork(good, { callbacks: { onBatchEnd: 3 } }, TypeError, /fit: callbacks.onBatchEnd must be a function, got the number 3/);
  });

  it('suggests the option meant for a misspelled one', async () => {
    await rejectsBeforeWork(good, { epoch: 3 }, RangeError, /fit: unknown option "epoch" \(did you mean "epochs"\?\)/);
    await rejectsBeforeWork(good, { batchsize: 3 }, RangeError, /unknown option "batchsize" \(did you mean "batchSize"\?\)/);
    await rejectsBeforeWork(good, { callbacks: { onBatchend: () => {} } }, RangeError, /callbacks: unknown option "onBatchend" \(did you mean "onBatchEnd"\?\)/);
    await rejectsBeforeWork(good, { earlyStopping: { patiance: 2 } }, RangeError, /earlyStopping: unknown option "patiance" \(did you mean "patience"\?\)/);
    await rejectsBeforeWork(good, { checkpoint: { dir: 'x', evry: 2 } }, RangeError, /checkpoint: unknown option "evry" \(did you mean "every"\?\)/);
  });

  it('rejects an optimizer or schedule that is not this model\'s', async () => {
    const model = regressor(1);
    const other = regressor(2);
    await expect(model.fit(good, { optimizer: new Adam(other.parameters()) })).rejects.toThrow(/optimizer must update this model's parameters/);
    await expect(model.fit(good, { optimizer: {} as never })).rejects.toThrow(TypeError);
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    await expect(model.fit(good, { optimizer: opt, schedule: new StepLR(new SGD(other.parameters(), { lr: 0.1 }), { stepSize: 1 }) }))
      .rejects.toThrow(/schedule must drive the optimizer fit uses/);
    expect(() => new Trainer({} as never)).toThrow(/new Trainer: model must be a layer or Sequential, got an object/);
    expect(() => new Trainer(model, { lossFn: 'mse' } as never)).toThrow(/unknown option "lossFn"/);
  });

  it('rejects bad input to predict', async () => {
    const model = regressor(1);
    await expect(model.predict('x' as never)).rejects.toThrow(/predict: x must be an array of sequences or a tensor, got the string "x"/);
    await expect(model.predict(good.x, { batchSize: 0 })).rejects.toThrow(/predict: batchSize must be an integer >= 1/);
    await expect(model.predict(good.x, { batchsize: 2 } as never)).rejects.toThrow(/unknown option "batchsize" \(did you mean "batchSize"\?\)/);
  });
});
