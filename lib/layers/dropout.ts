/**
 * Dropout: in training mode zeroes each element with probability p and scales the rest by 1/(1-p)
 * (inverted dropout, as PyTorch); in evaluation mode passes x through. Masks come from the layer's
 * own seeded generator, so a seed gives the same masks on every run.
 */
import { LstmError } from '../errors.js';
import { Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkInteger, checkNumber, checkOptions } from '../validate.js';
import type { ParamSlot } from './lstm-layout.js';
import { Module, type ChainState, type Features } from './module.js';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1). Default 0.5. */
  p?: number;
  /** Seed of the masks; default: drawn from the process-wide generator (manualSeed). */
  seed?: number;
}

/** Fills `mask` with 0 or 1/(1-p) from `rng`; returns it. @internal */
export function dropoutMask(mask: Float32Array, p: number, rng: Random): Float32Array {
  const keep = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < p ? 0 : keep;
  return mask;
}

/**
 * Inverted dropout.
 * @example const drop = new Dropout({ p: 0.2 }); drop.eval(); // identity until drop.train()
 */
export class Dropout extends Module {
  readonly p: number;
  private rng: Random;
  private mask: Float32Array | null = null;
  private shape: number[] | null = null;

  constructor(options: DropoutOptions = {}) {
    const where = 'new Dropout';
    const o = checkOptions(where, options, ['p', 'seed']);
    const p = checkNumber(where, 'p', o.p ?? 0.5, 0, 1, false);
    const seed = o.seed === undefined ? freshSeed() : checkInteger(where, 'seed', o.seed, 0, 0xffffffff);
    super(0);
    this.p = p;
    this.rng = new Random(seed);
  }

  get slots(): readonly ParamSlot[] {
    return [];
  }

  /** Every option this layer was built with (the seed excepted). */
  config(): { p: number } {
    return { p: this.p };
  }

  resetParameters(): void {}

  override reseed(seed: number): void {
    this.rng = new Random(seed);
  }

  /** The mask generator, as `rng` (see {@link Module.rngState}). @internal */
  override randomGenerators(): Record<string, Random> {
    return { rng: this.rng };
  }

  inputFeatures(): Features {
    return { kind: 'features', size: null };
  }

  outputFeatures(input: Features): Features {
    return input;
  }

  /** x with dropped elements in training mode; x itself in evaluation mode or with p = 0. */
  forward(x: Tensor): Tensor {
    const where = `${this.where}.forward`;
    const xs = checkTensor(where, 'x', x, x?.shape?.map?.(() => null) ?? [], Float32Array);
    this.shape = [...xs.shape];
    if (!this.training || this.p === 0) {
      this.mask = null;
      return xs;
    }
    const mask = dropoutMask(new Float32Array(xs.data.length), this.p, this.rng);
    this.mask = mask;
    return { data: xs.data.map((v, i) => v * mask[i]!), shape: [...xs.shape] };
  }

  /** The gradient through the last forward's mask. */
  backward(grad: Tensor): Tensor {
    const where = `${this.where}.backward`;
    if (!this.shape) throw new LstmError(`${where}: call forward() before backward()`, 'ERR_LSTM_STATE');
    const g = checkTensor(where, 'grad', grad, this.shape, Float32Array, 'shaped like the forward output');
    const mask = this.mask;
    return mask ? { data: g.data.map((v, i) => v * mask[i]!), shape: [...g.shape] } : g;
  }

  forwardChain(x: Tensor<TensorData>, _state: ChainState): Tensor {
    return this.forward(x as Tensor);
  }

  backwardChain(grad: Tensor): Tensor {
    return this.backward(grad);
  }
}
