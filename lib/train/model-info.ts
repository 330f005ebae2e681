/**
 * What the data pipeline needs to know about a model: what its first layer takes (token ids or
 * feature vectors of a size), whether batches are time-major (its LSTMs without batchFirst),
 * whether its output keeps the time axis (targets per step) and how wide the output is.
 * @internal
 */
import { rangeError } from '../errors.js';
import { Embedding } from '../layers/embedding.js';
import { LSTM } from '../layers/lstm.js';
import type { Module } from '../layers/module.js';

export interface ModelInfo {
  /** The first layer takes token ids (an Embedding). */
  tokens: boolean;
  /** Vocabulary size of that Embedding, for checking ids before any work. */
  vocab: number | null;
  /** Features per step of the input (null: any, or token ids). */
  inputSize: number | null;
  /** Batches are (T, B, ...) because the model's LSTMs are time-major. */
  timeMajor: boolean;
  /** The output has a time axis: targets are per step. */
  perStep: boolean;
  /** Features of the output's last dim (null: unknown). */
  outputSize: number | null;
  /** The chain holds at least one LSTM. */
  recurrent: boolean;
  /** Check float tensor inputs for NaN/Inf before any work (the checkFinite option). */
  checkFinite?: boolean;
}

export function modelInfo(where: string, model: Module): ModelInfo {
  const layers = model.chainLayers();
  const lstms = layers.filter((l): l is LSTM => l instanceof LSTM);
  const layouts = new Set(lstms.map((l) => l.batchFirst));
  if (layouts.size > 1) {
    throw rangeError(`${where}: the model's LSTMs must all be batchFirst or all time-major, got both`);
  }
  const input = model.inputFeatures();
  const output = model.outputFeatures(input);
  const first = layers[0];
  return {
    tokens: input.kind === 'tokens',
    vocab: first instanceof Embedding ? first.numEmbeddings : null,
    inputSize: input.kind === 'features' ? input.size : null,
    timeMajor: lstms.length > 0 && !lstms[0]!.batchFirst,
    perStep: !lstms.some((l) => !l.returnSequences),
    outputSize: output.kind === 'features' ? output.size : null,
    recurrent: lstms.length > 0,
  };
}
