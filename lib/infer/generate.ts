/**
 * Text (token) generation from a token model: the prompt runs as one sequence, then each drawn
 * token is fed back one step at a time with the model's (h, c) carried between steps.
 */
import { rangeError, typeError, describe } from '../errors.js';
import type { Module } from '../layers/module.js';
import { Random, freshSeed } from '../random.js';
import { checkInteger, checkNumber, checkOptions } from '../validate.js';
import { sampleToken } from './sample.js';
import { checkToken } from './step-input.js';
import { Stepper } from './stepper.js';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Token ids to start from (at least one), each below the model's vocabulary size. */
  prompt: ArrayLike<number>;
  /** Tokens to generate after the prompt. */
  length: number;
  /** Softmax temperature, >= 0: below 1 sharper, above 1 flatter, 0 greedy. Default 1. */
  temperature?: number;
  /** Draw only among the k most likely tokens; 0 (default) = all. */
  topK?: number;
  /** Seed of the draws: the same seed, model and options give the same tokens. Default: random. */
  seed?: number;
  /** Called with each generated token as soon as it is drawn (for streaming output). */
  onToken?: (id: number) => void;
}

/**
 * Generates `length` token ids after `prompt` with a model that starts with an Embedding and ends
 * with one logit per vocabulary entry (e.g. Embedding -> LSTM -> Linear). Runs off the main thread.
 * @returns the generated ids (without the prompt)
 * @throws TypeError / RangeError for a bad option or a model that is not a token model
 * @example
 * const ids = await generate(model, { prompt: [12, 5, 40], length: 200, temperature: 0.8, topK: 10, seed: 1 });
 */
export async function generate(model: Module, options: GenerateOptions): Promise<Int32Array> {
  const where = 'generate';
  const o = checkOptions(where, options, ['prompt', 'length', 'temperature', 'topK', 'seed', 'onToken']);
  if (options === undefined) throw typeError(`${where}: options must be an object with prompt and length, got undefined`);
  const stepper = new Stepper(model, where, true);
  if (stepper.input.kind !== 'tokens') {
    throw typeError(`${where}: model must start with an Embedding (a token model), but it takes ${stepper.input.size} features per step`);
  }
  const V = stepper.input.vocabSize;
  const prompt = o.prompt as ArrayLike<unknown>;
  if (prompt === null || typeof prompt !== 'object' || typeof prompt.length !== 'number') {
    throw typeError(`${where}: prompt must be an array of token ids, got ${describe(prompt)}`);
  }
  if (prompt.length === 0) throw rangeError(`${where}: prompt must hold at least one token id, got an empty array`);
  const ids = Int32Array.from({ length: prompt.length }, (_, i) => checkToken(where, `prompt[${i}]`, prompt[i], V));
  const length = checkInteger(where, 'length', o.length, 0);
  const temperature = checkNumber(where, 'temperature', o.temperature ?? 1, 0);
  const topK = checkInteger(where, 'topK', o.topK ?? 0, 0);
  const seed = o.seed === undefined ? freshSeed() : checkInteger(where, 'seed', o.seed, 0, 0xffffffff);
  const onToken = o.onToken as GenerateOptions['onToken'];
  if (onToken !== undefined && typeof onToken !== 'function') throw typeError(`${where}: onToken must be a function, got ${describe(onToken)}`);
  if (stepper.outputSize !== V) {
    throw rangeError(`${where}: model must output one logit per token (${V}), but its output has ${stepper.outputSize} features`);
  }

  const rng = new Random(seed);
  const state = new Float32Array(stepper.stateSize);
  const out = new Int32Array(length);
  let r = await stepper.run({ T: ids.length, B: 1, x: ids, lengths: null, state, keepState: true, everyStep: true });
  let logits = r.y.subarray((ids.length - 1) * V, ids.length * V);
  for (let t = 0; t < length; t++) {
    const next = sampleToken(logits, temperature, topK, rng);
    out[t] = next;
    onToken?.(next);
    if (t === length - 1) break;
    r = await stepper.run({ T: 1, B: 1, x: Int32Array.of(next), lengths: null, state, keepState: true, everyStep: true });
    logits = r.y;
  }
  return out;
}
