/**
 * `model.fit` and `model.predict`: a {@link Trainer} for the call, with `fit`'s options split into
 * the trainer's (loss, optimizer, schedule, ...) and the run's (epochs, batchSize, ...).
 * @internal
 */
import type { Module } from '../layers/module.js';
import type { Tensor } from '../tensor.js';
import { splitFitOptions } from './options.js';
import { Trainer } from './trainer.js';
import type { FitData, FitOptions, History, InputData, PredictOptions } from './types.js';

/** Trains `model` on `data`; see {@link FitOptions}. */
export async function fitModel(model: Module, data: FitData, options?: FitOptions): Promise<History> {
  const { trainer, run } = splitFitOptions('fit', options);
  return new Trainer(model, trainer, 'fit').fit(data, run);
}

/** The model's output for every sequence of `x`, batch by batch off the main thread. */
export async function predictModel(model: Module, x: InputData, options?: PredictOptions): Promise<Tensor> {
  return new Trainer(model, {}, 'predict').predict(x, options);
}
