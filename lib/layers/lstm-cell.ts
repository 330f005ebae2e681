/**
 * LSTMCell: PyTorch's nn.LSTMCell, one time step `(x, [h, c]) -> [h', c']`, for hand-written loops
 * (decoders, custom recurrences). Same weight names (`weight_ih` (4H, I), `weight_hh` (4H, H),
 * `bias_ih`, `bias_hh` (4H)), gate order i, f, g, o, and numbers as nn.LSTMCell. It runs on the LSTM
 * kernel with T = 1 and the given initial state, so the cell and the sequence LSTM share one
 * implementation of the gate math and its backward.
 * Shapes: x (B, I) or (I); h, c (B, H) or (H) (unbatched when x is 1-D, as PyTorch).
 */
import { LstmError, formatShape, rangeError, typeError, describe as describeValue } from '../errors.js';
import { Module, type ChainBackward, type ChainState, type Features } from './module.js';
import type { ParamSlot } from '../parameters.js';
import { Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkInteger, checkOptions } from '../validate.js';
import { LstmStack } from './lstm-stack.js';

/** Options of {@link LSTMCell}; PyTorch's nn.LSTMCell arguments in camelCase. */
export interface LSTMCellOptions {
  /** Features of x (PyTorch `input_size`). */
  inputSize: number;
  /** Features of h and c (PyTorch `hidden_size`). */
  hiddenSize: number;
  /** Seed for the initial weights (uniform in ±1/sqrt(hiddenSize), as PyTorch); default: the process-wide generator. */
  seed?: number;
}

/** Gradients of a step's inputs, returned by {@link LSTMCell.backward}; shaped like x, h and c. */
export interface LSTMCellInputGradients {
  x: Tensor;
  h: Tensor;
  c: Tensor;
}

/** Names of the cell's tensors in the stack's layout (a one-layer, one-direction LSTM). */
const CELL_NAMES: Record<string, string> = {
  weight_ih_l0: 'weight_ih', weight_hh_l0: 'weight_hh', bias_ih_l0: 'bias_ih', bias_hh_l0: 'bias_hh',
};

/**
 * One LSTM step with PyTorch's nn.LSTMCell numbers and state-dict names.
 *
 * @example
 * const cell = new LSTMCell({ inputSize: 8, hiddenSize: 16 });
 * let [h, c] = cell.forward(x0);             // x0 (B, 8); zero state
 * [h, c] = cell.forward(x1, [h, c]);        // carry the state by hand
 * const g = cell.backward({ h: dh });       // gradients of x1, h and c of the last step
 */
export class LSTMCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** @internal */
  readonly stack: LstmStack<Float32Array>;
  private readonly layout: ParamSlot[];
  /** The last forward's batch and whether its x was unbatched (1-D), for backward's shapes. */
  private last: { B: number; unbatched: boolean } | null = null;

  /** @throws TypeError or RangeError for a missing, misspelled or invalid option. */
  constructor(options: LSTMCellOptions) {
    const where = 'new LSTMCell';
    if (options === undefined) throw typeError(`${where}: options must be an object with inputSize and hiddenSize, got undefined`);
    const o = checkOptions(where, options, ['inputSize', 'hiddenSize', 'seed']);
    const inputSize = checkInteger(where, 'inputSize', o.inputSize);
    const hiddenSize = checkInteger(where, 'hiddenSize', o.hiddenSize);
    const cfg = { inputSize, hiddenSize, numLayers: 1, bidirectional: false, projSize: 0 };
    const stack = new LstmStack(cfg, Float32Array);
    super(stack.layout.size);
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.layout = stack.layout.slots.map((s) => ({ ...s, name: CELL_NAMES[s.name]! }));
    this.stack = new LstmStack(cfg, Float32Array, { params: this.values, grads: this.grads, block: this.block });
    const seed = o.seed === undefined ? freshSeed() : checkInteger(where, 'seed', o.seed, 0, 0xffffffff);
    this.initParameters(new Random(seed));
  }

  get slots(): readonly ParamSlot[] {
    return this.layout;
  }

  /** PyTorch's default: every parameter uniform in [-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)]. @internal */
  protected initParameters(rng: Random): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    rng.uniform(this.values, -k, k);
  }

  /** @internal */
  protected override onBind(): void {
    this.stack.bind({ params: this.values, grads: this.grads, block: this.block });
  }

  /** @internal */
  override checkBackward(where: string): void {
    this.stack.checkBackward(where);
  }

  /** @internal */
  inputFeatures(): Features {
    return { kind: 'features', size: this.inputSize };
  }

  /** @internal */
  outputFeatures(): Features {
    return { kind: 'features', size: this.hiddenSize };
  }

  /** Checks x and the state; returns flat arrays and the batch size. */
  private prepare(where: string, x: Tensor, state: readonly [Tensor, Tensor] | undefined) {
    if (x === null || typeof x !== 'object' || !Array.isArray((x as { shape?: unknown }).shape)) {
      throw typeError(`${where}: x must be a tensor of shape [B, ${this.inputSize}] or [${this.inputSize}], got ${describeValue(x)}`);
    }
    const unbatched = x.shape.length === 1;
    const xs = checkTensor(where, 'x', x, unbatched ? [this.inputSize] : ['B', this.inputSize], Float32Array,
      `inputSize ${this.inputSize}`);
    const B = unbatched ? 1 : xs.shape[0]!;
    if (B < 1) throw rangeError(`${where}: x must hold at least one row, got ${formatShape(xs.shape)}`, 'ERR_LSTM_SHAPE');
    let h0: Float32Array | null = null;
    let c0: Float32Array | null = null;
    if (state !== undefined && state !== null) {
      if (!Array.isArray(state) || state.length !== 2) {
        throw typeError(`${where}: state must be [h, c], got ${describeValue(state)}`);
      }
      const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
      h0 = checkTensor(where, 'h', state[0], want, Float32Array, `hiddenSize ${this.hiddenSize}`).data;
      c0 = checkTensor(where, 'c', state[1], want, Float32Array, `hiddenSize ${this.hiddenSize}`).data;
    }
    return { data: xs.data, B, unbatched, h0, c0 };
  }

  private finish(r: { hn: Float32Array; cn: Float32Array }, B: number, unbatched: boolean, grad: boolean): [Tensor, Tensor] {
    this.last = grad ? { B, unbatched } : null;
    const shape = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    return [{ data: r.hn, shape }, { data: r.cn, shape: [...shape] }];
  }

  /**
   * One step: returns `[h', c']`. Keeps what {@link LSTMCell.backward} needs unless `noGrad`.
   * @param x (B, inputSize) or (inputSize)
   * @param state `[h, c]`, each (B, hiddenSize) or (hiddenSize); zeros when omitted
   * @throws TypeError / RangeError naming the argument for a wrong type or shape.
   */
  forward(x: Tensor, state?: readonly [Tensor, Tensor], options?: { noGrad?: boolean }): [Tensor, Tensor] {
    const where = 'lstmcell.forward';
    this.stack.assertIdle(where);
    const grad = !(checkOptions(where, options, ['noGrad']).noGrad ?? false);
    const p = this.prepare(where, x, state);
    return this.finish(this.stack.forward(p.data, 1, p.B, p.h0, p.c0, null, where, grad), p.B, p.unbatched, grad);
  }

  /** {@link LSTMCell.forward} on libuv's thread pool; the cell is busy until the promise settles. */
  async forwardAsync(x: Tensor, state?: readonly [Tensor, Tensor], options?: { noGrad?: boolean }): Promise<[Tensor, Tensor]> {
    const where = 'lstmcell.forwardAsync';
    this.stack.assertIdle(where);
    const grad = !(checkOptions(where, options, ['noGrad']).noGrad ?? false);
    const p = this.prepare(where, x, state);
    const r = await this.stack.forwardAsync(p.data, 1, p.B, p.h0, p.c0, null, where, grad);
    return this.finish(r, p.B, p.unbatched, grad);
  }

  /**
   * Backpropagates through the last step: adds the parameter gradients into
   * {@link Module.namedGradients} and returns the gradients of that step's x, h and c.
   * @param grads gradients of the loss w.r.t. h' and c' (either may be omitted: zero)
   * @throws LstmError ERR_LSTM_STATE before any forward (or after a noGrad one).
   */
  backward(grads: { h?: Tensor; c?: Tensor }): LSTMCellInputGradients {
    const where = 'lstmcell.backward';
    this.stack.assertIdle(where);
    const o = checkOptions(where, grads ?? {}, ['h', 'c']);
    if (!this.last) {
      throw new LstmError(`${where}: call forward() before backward() (a forward with noGrad keeps nothing for it)`, 'ERR_LSTM_STATE');
    }
    const { B, unbatched } = this.last;
    const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const gh = o.h === undefined ? null : checkTensor(where, 'h', o.h, want, Float32Array, 'shaped like h\'').data;
    const gc = o.c === undefined ? null : checkTensor(where, 'c', o.c, want, Float32Array, 'shaped like c\'').data;
    const r = this.stack.backward(null, gh, gc, where, true);
    const xShape = unbatched ? [this.inputSize] : [B, this.inputSize];
    return { x: { data: r.dx!, shape: xShape }, h: { data: r.dh0, shape: [...want] }, c: { data: r.dc0, shape: [...want] } };
  }

  /** One step from the zero state inside a Sequential: x (B, I) -> h' (B, H), under the chain's lease. @internal */
  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    const where = 'lstmcell.forward';
    this.stack.assertIdle(where, state.lease);
    const grad = !state.noGrad;
    const p = this.prepare(where, x as Tensor, undefined);
    return this.finish(this.stack.forward(p.data, 1, p.B, null, null, null, where, grad, state.lease), p.B, p.unbatched, grad)[0];
  }

  /** @internal */
  backwardChain(grad: Tensor, step: ChainBackward): Tensor | null {
    const where = 'lstmcell.backward';
    this.stack.assertIdle(where, step.lease);
    if (!this.last) throw new LstmError(`${where}: call forward() before backward()`, 'ERR_LSTM_STATE');
    const { B, unbatched } = this.last;
    const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const gh = checkTensor(where, 'grad', grad, want, Float32Array, 'shaped like h\'').data;
    const r = this.stack.backward(null, gh, null, where, step.inputGrad, step.retain, step.lease);
    return r.dx ? { data: r.dx, shape: unbatched ? [this.inputSize] : [B, this.inputSize] } : null;
  }
}

