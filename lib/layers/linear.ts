/**
 * Linear: y = x W^T + b over the last dimension, PyTorch's nn.Linear (weight (out, in), bias (out)),
 * so it applies to every time step of a (B, T, in) tensor. The products run natively (GEMM seam).
 */
import { loadNative } from '../binding.js';
import { kaimingUniform, uniform } from '../init.js';
import type { ParamSlot } from '../parameters.js';
import { checkSeed, Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkBoolean, checkInteger, checkOptions } from '../validate.js';
import { backwardOptions, Module, type BackwardOptions, type ChainBackward, type ChainState, type Features } from './module.js';
import { SavedActivations } from './saved.js';

/** The expected shape "any leading dims, then `size`", with the rank of x when it has one. */
export function lastDim(x: unknown, size: number): (number | null)[] {
  const shape = (x as { shape?: unknown } | null)?.shape;
  const rank = Array.isArray(shape) && shape.length > 0 ? shape.length : 1;
  return [...new Array<null>(rank - 1).fill(null), size];
}

/** Options of {@link Linear}; PyTorch's nn.Linear arguments in camelCase. */
export interface LinearOptions {
  /** Size of the last dimension of the input. */
  inFeatures: number;
  /** Size of the last dimension of the output. */
  outFeatures: number;
  /** Learn an additive bias. Default true. */
  bias?: boolean;
  /** Seed of the initial weights; default: drawn from the process-wide generator (manualSeed). */
  seed?: number;
}

/**
 * A fully connected layer on the last dimension.
 * @example
 * const head = new Linear({ inFeatures: 256, outFeatures: 65 });
 * const logits = head.forward(h);            // (B, T, 256) -> (B, T, 65)
 * const dh = head.backward(dLogits);         // accumulates weight and bias gradients
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  private readonly layout: ParamSlot[];
  /** What the last forward kept for the backward. @internal */
  protected override readonly saved = new SavedActivations<{ x: Float32Array; shape: number[] }>();

  constructor(options: LinearOptions) {
    const where = 'new Linear';
    const o = checkOptions(where, options, ['inFeatures', 'outFeatures', 'bias', 'seed']);
    const inFeatures = checkInteger(where, 'inFeatures', o.inFeatures);
    const outFeatures = checkInteger(where, 'outFeatures', o.outFeatures);
    const hasBias = checkBoolean(where, 'bias', o.bias ?? true);
    const seed = o.seed === undefined ? freshSeed() : checkSeed(where, 'seed', o.seed);
    const layout: ParamSlot[] = [{ name: 'weight', shape: [outFeatures, inFeatures], offset: 0, size: outFeatures * inFeatures }];
    if (hasBias) layout.push({ name: 'bias', shape: [outFeatures], offset: outFeatures * inFeatures, size: outFeatures });
    super(layout.reduce((n, s) => n + s.size, 0));
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = hasBias;
    this.layout = layout;
    this.initParameters(new Random(seed));
  }

  get slots(): readonly ParamSlot[] {
    return this.layout;
  }

  /** Every option this layer was built with (the seed excepted): `new Linear(linear.config())` builds the same layer. */
  config(): Required<Omit<LinearOptions, 'seed'>> {
    return { inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.hasBias };
  }

  /** PyTorch's default: weight Kaiming-uniform with a = sqrt(5) (= U(±1/sqrt(in))), bias U(±1/sqrt(in)). @internal */
  protected initParameters(rng: Random): void {
    const p = this.namedParameters();
    kaimingUniform(p.weight!, { rng, a: Math.sqrt(5) });
    const bound = 1 / Math.sqrt(this.inFeatures);
    if (p.bias) uniform(p.bias, -bound, bound, { rng });
  }

  /** @internal */
  inputFeatures(): Features {
    return { kind: 'features', size: this.inFeatures };
  }

  /** @internal */
  outputFeatures(): Features {
    return { kind: 'features', size: this.outFeatures };
  }

  /**
   * y = x W^T + b on the last dimension.
   * @param x (..., inFeatures)
   * @returns (..., outFeatures)
   * @throws RangeError for an x of the wrong shape; LstmError ERR_LSTM_BUSY while an async call runs on the model.
   */
  forward(x: Tensor): Tensor {
    const where = `${this.where}.forward`;
    this.assertIdle(where);
    return this.run(where, x, true);
  }

  private run(where: string, x: Tensor, grad: boolean): Tensor {
    const shape = checkTensor(where, 'x', x, lastDim(x, this.inFeatures), Float32Array, `inFeatures ${this.inFeatures}`).shape;
    const N = x.data.length / this.inFeatures;
    const y = new Float32Array(N * this.outFeatures);
    const p = this.namedParameters();
    loadNative().linearForward({ N, in: this.inFeatures, out: this.outFeatures, y, x: x.data, weight: p.weight!.data,
      bias: p.bias?.data ?? null });
    if (grad) this.saved.keep({ x: x.data.slice(), shape: [...shape] }, this.block.version);
    else this.saved.clear();
    return { data: y, shape: [...shape.slice(0, -1), this.outFeatures] };
  }

  /**
   * Adds the weight and bias gradients and returns the gradient of the input. Consumes the
   * forward's activations unless `retainGraph`.
   * @param grad (..., outFeatures), shaped like the last forward's output
   * @throws LstmError ERR_LSTM_STATE before a forward, for a second backward of one forward and
   *   after the parameters changed (see LSTM.backward); RangeError for a grad of the wrong shape.
   */
  backward(grad: Tensor, options?: BackwardOptions): Tensor {
    const where = `${this.where}.backward`;
    this.assertIdle(where);
    return this.runBackward(where, grad, backwardOptions(where, options).retain);
  }

  private runBackward(where: string, grad: Tensor, retain: boolean): Tensor {
    const { x, shape } = this.saved.check(where, this.block);
    checkTensor(where, 'grad', grad, [...shape.slice(0, -1), this.outFeatures], Float32Array, 'shaped like the forward output');
    this.saved.take(where, this.block, retain);
    const N = x.length / this.inFeatures;
    const dx = new Float32Array(x.length);
    const p = this.namedParameters();
    const g = this.namedGradients();
    loadNative().linearBackward({ N, in: this.inFeatures, out: this.outFeatures, dx, dWeight: g.weight!.data,
      dBias: g.bias?.data ?? null, dy: grad.data, x, weight: p.weight!.data });
    return { data: dx, shape: [...shape] };
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
