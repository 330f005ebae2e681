/**
 * Dropout: in training mode zeroes each element with probability p and scales the rest by 1/(1-p)
 * (inverted dropout, as PyTorch); in evaluation mode passes x through. Masks come from the layer's
 * own seeded generator, so a seed gives the same masks on every run.
 */
import type { ParamSlot } from '../parameters.js';
import { checkSeed, dropoutMask, Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkNumber, checkOptions } from '../validate.js';
import { backwardOptions, Module, type BackwardOptions, type ChainBackward, type ChainState, type Features } from './module.js';
import { SavedActivations } from './saved.js';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1). Default 0.5. */
  p?: number;
  /** Seed of the masks; default: drawn from the process-wide generator (manualSeed). */
  seed?: number;
}

/**
 * Inverted dropout.
 * @example const drop = new Dropout({ p: 0.2 }); drop.eval(); // identity until drop.train()
 */
export class Dropout extends Module {
  readonly p: number;
  private rng: Random;
  /** The last forward's shape and mask (null when no element was dropped). @internal */
  protected override readonly saved = new SavedActivations<{ shape: number[]; mask: Float32Array | Float64Array | null }>();

  constructor(options: DropoutOptions = {}) {
    const where = 'new Dropout';
    const o = checkOptions(where, options, ['p', 'seed']);
    const p = checkNumber(where, 'p', o.p ?? 0.5, 0, 1, false);
    const seed = o.seed === undefined ? freshSeed() : checkSeed(where, 'seed', o.seed);
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

  /** @internal */
  protected initParameters(): void {}

  override reseed(seed: number): void {
    this.rng = new Random(seed);
  }

  /** The mask generator, as `rng` (see {@link Module.rngState}). @internal */
  override randomGenerators(): Record<string, Random> {
    return { rng: this.rng };
  }

  /** @internal */
  inputFeatures(): Features {
    return { kind: 'features', size: null };
  }

  /** @internal */
  outputFeatures(input: Features): Features {
    return input;
  }

  /** x with dropped elements in training mode; x itself in evaluation mode or with p = 0. */
  forward(x: Tensor): Tensor {
    const where = `${this.where}.forward`;
    this.assertIdle(where);
    return this.run(where, x, true);
  }

  private run(where: string, x: Tensor, grad: boolean): Tensor {
    const xs = checkTensor(where, 'x', x, Array.isArray(x?.shape) ? x.shape.map(() => null) : [], Float32Array);
    const mask = !this.training || this.p === 0 ? null : dropoutMask(new Float32Array(xs.data.length), this.p, this.rng);
    if (grad) this.saved.keep({ shape: [...xs.shape], mask }, this.block.version);
    else this.saved.clear();
    return mask ? { data: xs.data.map((v, i) => v * mask[i]!), shape: [...xs.shape] } : xs;
  }

  /**
   * The gradient through the last forward's mask. Consumes the forward's activations unless `retainGraph`.
   * @throws LstmError ERR_LSTM_STATE before a forward and for a second backward of one forward;
   *   RangeError for a grad of the wrong shape.
   */
  backward(grad: Tensor, options?: BackwardOptions): Tensor {
    const where = `${this.where}.backward`;
    this.assertIdle(where);
    return this.runBackward(where, grad, backwardOptions(where, options).retain);
  }

  private runBackward(where: string, grad: Tensor, retain: boolean): Tensor {
    const { shape, mask } = this.saved.check(where, this.block);
    const g = checkTensor(where, 'grad', grad, shape, Float32Array, 'shaped like the forward output');
    this.saved.take(where, this.block, retain);
    return mask ? { data: g.data.map((v, i) => v * mask[i]!), shape: [...g.shape] } : g;
  }

  /** @internal */
  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    return this.run(`${this.where}.forward`, x as Tensor, !state.noGrad);
  }

  /** @internal */
  backwardChain(grad: Tensor, step: ChainBackward): Tensor {
    return this.runBackward(`${this.where}.backward`, grad, step.retain);
  }
}
