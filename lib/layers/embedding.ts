/**
 * Embedding: a lookup table from token ids to vectors, PyTorch's nn.Embedding (weight
 * (numEmbeddings, embeddingDim), optional paddingIdx whose row starts at zero and gets no gradient).
 * tokens (...) as Int32Array or BigInt64Array -> (..., embeddingDim).
 */
import { describe, rangeError, typeError } from '../errors.js';
import { normal } from '../init.js';
import type { ParamSlot } from '../parameters.js';
import { checkSeed, Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkInteger, checkOptions } from '../validate.js';
import { backwardOptions, Module, type BackwardOptions, type ChainBackward, type ChainState, type Features } from './module.js';
import { SavedActivations } from './saved.js';

/** Options of {@link Embedding}; PyTorch's nn.Embedding arguments in camelCase. */
export interface EmbeddingOptions {
  /** Vocabulary size: token ids are in [0, numEmbeddings). */
  numEmbeddings: number;
  /** Size of each vector. */
  embeddingDim: number;
  /** A token id whose vector stays zero and gets no gradient (negative counts from the end). */
  paddingIdx?: number;
  /** Seed of the initial weights (normal(0, 1), as PyTorch); default: the process-wide generator. */
  seed?: number;
}

/** The multi-index of flat position i in `shape`, for error messages: `[1, 7]`. */
function position(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return `[${idx.join(', ')}]`;
}

/**
 * A learned vector per token id.
 * @example
 * const embed = new Embedding({ numEmbeddings: 65, embeddingDim: 64 });
 * const x = embed.forward({ data: Int32Array.from([0, 5, 9]), shape: [1, 3] });   // (1, 3, 64)
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  private readonly layout: ParamSlot[];
  /** What the last forward kept for the backward. @internal */
  protected override readonly saved = new SavedActivations<{ ids: Int32Array; shape: number[] }>();

  constructor(options: EmbeddingOptions) {
    const where = 'new Embedding';
    const o = checkOptions(where, options, ['numEmbeddings', 'embeddingDim', 'paddingIdx', 'seed']);
    const numEmbeddings = checkInteger(where, 'numEmbeddings', o.numEmbeddings);
    const embeddingDim = checkInteger(where, 'embeddingDim', o.embeddingDim);
    let paddingIdx: number | null = null;
    if (o.paddingIdx !== undefined && o.paddingIdx !== null) {
      const p = checkInteger(where, 'paddingIdx', o.paddingIdx, -numEmbeddings, numEmbeddings - 1);
      paddingIdx = p < 0 ? p + numEmbeddings : p;
    }
    const seed = o.seed === undefined ? freshSeed() : checkSeed(where, 'seed', o.seed);
    super(numEmbeddings * embeddingDim);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = paddingIdx;
    this.layout = [{ name: 'weight', shape: [numEmbeddings, embeddingDim], offset: 0, size: numEmbeddings * embeddingDim }];
    this.initParameters(new Random(seed));
  }

  get slots(): readonly ParamSlot[] {
    return this.layout;
  }

  /** Every option this layer was built with (the seed excepted; paddingIdx null when none). */
  config(): { numEmbeddings: number; embeddingDim: number; paddingIdx: number | null } {
    return { numEmbeddings: this.numEmbeddings, embeddingDim: this.embeddingDim, paddingIdx: this.paddingIdx };
  }

  /** PyTorch's default: normal(0, 1), the padding row zero. @internal */
  protected initParameters(rng: Random): void {
    normal(this.namedParameters().weight!, 0, 1, { rng });
    if (this.paddingIdx !== null) this.values.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
  }

  /** @internal */
  inputFeatures(): Features {
    return { kind: 'tokens' };
  }

  /** @internal */
  outputFeatures(): Features {
    return { kind: 'features', size: this.embeddingDim };
  }

  /** Checks token ids (Int32Array or BigInt64Array) and returns them as an Int32Array. */
  private ids(where: string, tokens: unknown): { ids: Int32Array; shape: number[] } {
    const data = (tokens as { data?: unknown } | null)?.data;
    if (!(data instanceof Int32Array || data instanceof BigInt64Array)) {
      if (tokens !== null && typeof tokens === 'object' && 'data' in tokens) {
        throw typeError(`${where}: tokens.data must be an Int32Array or BigInt64Array of token ids, got ${describe(data)}`);
      }
      throw typeError(`${where}: tokens must be a tensor {data: Int32Array | BigInt64Array, shape: number[]}, got ${describe(tokens)}`);
    }
    const rank = Array.isArray((tokens as { shape?: unknown }).shape) ? (tokens as { shape: unknown[] }).shape.length : 0;
    const t = checkTensor(where, 'tokens', tokens, new Array<null>(rank).fill(null),
      data.constructor as Int32ArrayConstructor | BigInt64ArrayConstructor) as Tensor<Int32Array | BigInt64Array>;
    const ids = new Int32Array(t.data.length);
    const V = this.numEmbeddings;
    for (let i = 0; i < ids.length; i++) {
      const v = t.data[i]!;
      const n = typeof v === 'bigint' ? (v >= 0n && v < BigInt(V) ? Number(v) : -1) : v;
      if (n < 0 || n >= V) {
        throw rangeError(`${where}: tokens${position(i, t.shape)} is ${String(v)}, outside the vocabulary [0, ${V}) (numEmbeddings ${V})`);
      }
      ids[i] = n;
    }
    return { ids, shape: [...t.shape] };
  }

  /**
   * Looks up each token's vector.
   * @param tokens (...) token ids as Int32Array or BigInt64Array
   * @returns (..., embeddingDim)
   * @throws RangeError naming the position of a token id outside [0, numEmbeddings); LstmError
   *   ERR_LSTM_BUSY while an async call runs on the model.
   */
  forward(tokens: Tensor<Int32Array> | Tensor<BigInt64Array>): Tensor {
    const where = `${this.where}.forward`;
    this.assertIdle(where);
    return this.run(where, tokens, true);
  }

  private run(where: string, tokens: Tensor<Int32Array> | Tensor<BigInt64Array>, grad: boolean): Tensor {
    const { ids, shape } = this.ids(where, tokens);
    const E = this.embeddingDim;
    const out = new Float32Array(ids.length * E);
    const w = this.values;
    for (let i = 0; i < ids.length; i++) out.set(w.subarray(ids[i]! * E, (ids[i]! + 1) * E), i * E);
    if (grad) this.saved.keep({ ids, shape }, this.block.version);
    else this.saved.clear();
    return { data: out, shape: [...shape, E] };
  }

  /**
   * Adds the gradient of each looked-up row into the weight gradient (the padding row excepted).
   * Token ids have no gradient, so this returns null. Consumes the forward's activations unless
   * `retainGraph`.
   * @throws LstmError ERR_LSTM_STATE before a forward, for a second backward of one forward and
   *   after the parameters changed (see LSTM.backward); RangeError for a grad of the wrong shape.
   */
  backward(grad: Tensor, options?: BackwardOptions): null {
    const where = `${this.where}.backward`;
    this.assertIdle(where);
    return this.runBackward(where, grad, backwardOptions(where, options).retain);
  }

  private runBackward(where: string, grad: Tensor, retain: boolean): null {
    const { ids, shape } = this.saved.check(where, this.block);
    const E = this.embeddingDim;
    checkTensor(where, 'grad', grad, [...shape, E], Float32Array, 'shaped like the forward output');
    this.saved.take(where, this.block, retain);
    const g = this.grads;
    const d = grad.data;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === this.paddingIdx) continue;
      const row = id * E;
      const src = i * E;
      for (let k = 0; k < E; k++) g[row + k] = g[row + k]! + d[src + k]!;
    }
    return null;
  }

  /** @internal */
  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    return this.run(`${this.where}.forward`, x as Tensor<Int32Array>, !state.noGrad);
  }

  /** @internal */
  backwardChain(grad: Tensor, step: ChainBackward): null {
    return this.runBackward(`${this.where}.backward`, grad, step.retain);
  }
}
