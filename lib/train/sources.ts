/**
 * Turns what the user passes as data into batch sources: `{ x, y, lengths? }` in memory, `{ tokens }`
 * with tbptt, or an async iterable of ready batches. In-memory data is checked in full here,
 * before any work; a ready batch is checked when it arrives.
 * @internal
 */
import { describe, rangeError, typeError } from '../errors.js';
import { isTensor } from '../tensor.js';
import { assemble, SampleSource, TokenStreamSource, type BatchSource, type TrainBatch } from './batches.js';
import type { ModelInfo } from './model-info.js';
import { sliceSamples, targetKind, toInputs, toTargets, type SampleSet } from './samples.js';
import type { Batch, FitData } from './types.js';

export interface SourceOptions {
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Chunk length for token streams, or null without tbptt. */
  tbptt: number | null;
  /** Fraction held out for validation, or 0. */
  validationSplit: number;
}

/** The target kind the loss wants: true class ids, false floats, null decided by the data. */
export type ClassLoss = boolean | null;

export interface Sources {
  train: BatchSource;
  /** Held out by validationSplit, or null. */
  split: BatchSource | null;
  /** The kind of the targets, or null until an iterable's first batch. */
  kind: 'class' | 'float' | null;
  /** Samples (sequences, or tokens for a stream) in the training data, null for an iterable. */
  size: number | null;
}

function isAsyncIterable(data: unknown): data is AsyncIterable<Batch> {
  return data !== null && typeof data === 'object' && typeof (data as AsyncIterable<Batch>)[Symbol.asyncIterator] === 'function';
}

function toTokens(where: string, tokens: unknown, info: ModelInfo): Int32Array {
  const data = isTensor(tokens) ? tokens.data : tokens;
  if (isTensor(tokens) && tokens.shape.length !== 1) throw rangeError(`${where}: tokens must be 1-D (one long stream), got shape [${tokens.shape.join(', ')}]`);
  if (!(data instanceof Int32Array || Array.isArray(data))) {
    throw typeError(`${where}: tokens must be an Int32Array, an array of token ids or a 1-D Int32Array tensor, got ${describe(tokens)}`);
  }
  const V = info.vocab;
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (V !== null && v >= V)) {
      throw rangeError(`${where}: tokens[${i}] must be a token id in [0, ${V ?? 'numEmbeddings'}), got ${describe(v)}`);
    }
  }
  return data instanceof Int32Array ? data : Int32Array.from(data as number[]);
}

function tokenSource(where: string, tokens: Int32Array, opts: SourceOptions, info: ModelInfo, name: string): TokenStreamSource {
  const streams = Math.min(opts.batchSize, Math.max(1, tokens.length - 1));
  if (tokens.length < 2 || (name === 'tokens' && tokens.length - 1 < opts.batchSize)) {
    throw rangeError(`${where}: ${name} has ${tokens.length} tokens, too few for batchSize ${opts.batchSize} streams (at least batchSize + 1)`);
  }
  return new TokenStreamSource(tokens, streams, opts.tbptt!, info);
}

/** Sources for `data`; `classLoss` says which targets the loss wants. */
export function makeSources(where: string, data: unknown, opts: SourceOptions, info: ModelInfo, classLoss: ClassLoss,
  name = 'data'): Sources {
  if (data === null || typeof data !== 'object') {
    throw typeError(`${where}: ${name} must be { x, y }, { tokens } or an async iterable of batches, got ${describe(data)}`);
  }
  if (isAsyncIterable(data)) {
    if (opts.validationSplit > 0) throw rangeError(`${where}: validationSplit needs in-memory data; pass validationData with an iterable`);
    if (opts.tbptt !== null) throw rangeError(`${where}: tbptt takes { tokens }, not an iterable of batches`);
    return { train: new IterableSource(where, data, info, classLoss), split: null, kind: classLoss === null ? null : classLoss ? 'class' : 'float', size: null };
  }
  if ('tokens' in data) {
    if (opts.tbptt === null) throw rangeError(`${where}: ${name} { tokens } is a token stream: pass tbptt: { steps } to train on it`);
    if (!info.tokens || !info.perStep) {
      throw rangeError(`${where}: tbptt needs a model that takes token ids (starts with an Embedding) and outputs every step`);
    }
    if (classLoss === false) throw rangeError(`${where}: a token stream's targets are class ids: use the crossEntropy loss`);
    let tokens = toTokens(where, (data as { tokens: unknown }).tokens, info);
    let split: BatchSource | null = null;
    if (opts.validationSplit > 0) {
      const cut = tokens.length - Math.floor(tokens.length * opts.validationSplit);
      split = tokenSource(where, tokens.subarray(cut), opts, info, 'the validation split');
      tokens = tokens.subarray(0, cut);
    }
    return { train: tokenSource(where, tokens, opts, info, 'tokens'), split, kind: 'class', size: tokens.length };
  }
  if (opts.tbptt !== null) throw rangeError(`${where}: tbptt trains on a token stream: pass { tokens } as the data`);
  const d = data as { x?: unknown; y?: unknown; lengths?: unknown };
  if (!('x' in d)) throw typeError(`${where}: ${name} must have x and y (or be { tokens } or an async iterable), got an object without x`);
  for (const k of Object.keys(d)) {
    if (k !== 'x' && k !== 'y' && k !== 'lengths') throw rangeError(`${where}: ${name} has an unknown field "${k}"; expected x, y and lengths`);
  }
  const inputs = toInputs(`${where}: ${name}`, d.x, d.lengths as never, info);
  const kind = targetKind(d.y, classLoss, info);
  let set: SampleSet = { inputs, targets: toTargets(`${where}: ${name}`, d.y, inputs, info, kind) };
  let split: BatchSource | null = null;
  if (opts.validationSplit > 0) {
    const n = inputs.n;
    const nTrain = Math.floor(n * (1 - opts.validationSplit));
    if (nTrain < 1 || nTrain >= n) {
      throw rangeError(`${where}: validationSplit ${opts.validationSplit} of ${n} sequences leaves ${nTrain} to train on and ${n - nTrain} to validate`);
    }
    split = new SampleSource(sliceSamples(set, nTrain, n), info, opts.batchSize, false, 0);
    set = sliceSamples(set, 0, nTrain);
  }
  return { train: new SampleSource(set, info, opts.batchSize, opts.shuffle, opts.seed), split, kind, size: set.inputs.n };
}

/**
 * The user's async iterable: iterated anew every epoch, each ready batch (sample-first, as `{ x, y }`)
 * checked and assembled in the model's layout when it arrives.
 */
export class IterableSource implements BatchSource {
  readonly stepsPerEpoch = null;
  readonly carriesState = false;
  /** The kind of the targets, fixed by the first batch. */
  kind: 'class' | 'float' | null;

  constructor(private readonly where: string, private readonly data: AsyncIterable<Batch>, private readonly info: ModelInfo,
    classLoss: ClassLoss) {
    this.kind = classLoss === null ? null : classLoss ? 'class' : 'float';
  }

  async *batches(_epoch: number, skip: number): AsyncIterable<TrainBatch> {
    let i = 0;
    for await (const item of this.data) {
      const name = `batch ${i}`;
      if (item === null || typeof item !== 'object' || !('x' in item)) {
        throw typeError(`${this.where}: ${name} must be { x, y, lengths? }, got ${describe(item)}`);
      }
      if (i++ < skip) continue;
      const inputs = toInputs(`${this.where}: ${name}`, item.x, item.lengths, this.info);
      const kind = this.kind ?? targetKind(item.y, null, this.info);
      this.kind = kind;
      const set = { inputs, targets: toTargets(`${this.where}: ${name}`, item.y, inputs, this.info, kind) };
      yield assemble(set, Uint32Array.from({ length: inputs.n }, (_, j) => j), this.info);
    }
  }
}
