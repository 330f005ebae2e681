/**
 * The public LSTM module: PyTorch's nn.LSTM (same options in camelCase, same state-dict names and
 * numbers), with an explicit forward/backward pair instead of autograd. Shapes are PyTorch's:
 *   x (T, B, I), or (B, T, I) with batchFirst      output (T, B, D*Hout), or (B, T, D*Hout)
 *   h0, h (D*L, B, Hout)                            c0, c (D*L, B, H)
 * with D = 2 when bidirectional, L = numLayers, Hout = projSize || hiddenSize.
 */
import { describe, formatShape, LstmError, rangeError, typeError } from '../errors.js';
import type { ParamSlot } from './lstm-layout.js';
import { lstmLayout } from './lstm-layout.js';
import { Module, type ChainState, type Features } from './module.js';
import { Random, freshSeed } from '../random.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { uninitialized } from '../uninitialized.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../validate.js';
import { LstmStack, type StackForwardResult } from './lstm-stack.js';

/** Options of {@link LSTM}; the names are PyTorch's nn.LSTM arguments in camelCase. */
export interface LSTMOptions {
  /** Features per time step of the input (PyTorch `input_size`). */
  inputSize: number;
  /** Features of the cell state and, without projection, of h (PyTorch `hidden_size`). */
  hiddenSize: number;
  /** Stacked layers; the output of one is the input of the next. Default 1. */
  numLayers?: number;
  /** Run a second LSTM from the end of each sequence and concatenate both outputs. Default false. */
  bidirectional?: boolean;
  /** Tensors are (B, T, features) instead of (T, B, features). Default false. */
  batchFirst?: boolean;
  /** Project h to this size with a learned matrix (PyTorch `proj_size`); 0 = none. Default 0. */
  projSize?: number;
  /** Dropout on the outputs of each layer but the last, in training mode (PyTorch `dropout`), in [0, 1). Default 0. */
  dropout?: number;
  /**
   * Inside a {@link Sequential}: pass on every step's output (true, the default) or only the last
   * valid step of each sequence, (B, D*Hout), as Keras' `return_sequences=False` (for a
   * bidirectional LSTM: the forward direction's last valid step and the reverse direction's first).
   * LSTM.forward itself always returns every step.
   */
  returnSequences?: boolean;
  /** Seed for the initial weights (uniform in ±1/sqrt(hiddenSize), as PyTorch) and dropout masks; default: the process-wide generator. */
  seed?: number;
}

/** Optional inputs of {@link LSTM.forward}. */
export interface LSTMForwardOptions {
  /** Initial hidden state (D*L, B, Hout); zeros when omitted. */
  h0?: Tensor;
  /** Initial cell state (D*L, B, H); zeros when omitted. */
  c0?: Tensor;
  /**
   * Valid steps of each sequence (B), in any order, each in [0, T]: PyTorch's packed-sequence
   * semantics (output zero past a length, h and c taken at the last valid step, the reverse
   * direction starting there). Padding values in x must be finite.
   */
  lengths?: ArrayLike<number> | Int32Array | BigInt64Array | Tensor<Int32Array> | Tensor<BigInt64Array>;
  /**
   * Inference only: keep nothing for backward (a much smaller workspace and less memory traffic;
   * backward() then throws until the next forward without it). Default false.
   */
  noGrad?: boolean;
}

/** What {@link LSTM.forward} returns. */
export interface LSTMOutput {
  /** Every step's h from the last layer (T, B, D*Hout), or (B, T, D*Hout) with batchFirst. */
  output: Tensor;
  /** Final hidden state of every layer and direction (D*L, B, Hout). */
  h: Tensor;
  /** Final cell state of every layer and direction (D*L, B, H). */
  c: Tensor;
}

/** Upstream gradients for {@link LSTM.backward}, shaped like the forward's outputs; any may be omitted (zero). */
export interface LSTMGradients {
  output?: Tensor;
  h?: Tensor;
  c?: Tensor;
}

/** Options of {@link LSTM.backward}. */
export interface LSTMBackwardOptions {
  /**
   * Compute the gradient of x (default true). False skips it (x is then null in the result): for a
   * first layer whose input needs no gradient, this saves one product as large as the input
   * projection (about 1/6 of a one-layer training step when the input is as wide as the hidden state).
   */
  inputGrad?: boolean;
}

/** Gradients of the forward's inputs, returned by {@link LSTM.backward}. */
export interface LSTMInputGradients {
  /** Shaped like x. */
  x: Tensor;
  /** (D*L, B, Hout). */
  h0: Tensor;
  /** (D*L, B, H). */
  c0: Tensor;
}

const OPTION_NAMES = ['inputSize', 'hiddenSize', 'numLayers', 'bidirectional', 'batchFirst', 'projSize', 'dropout',
  'returnSequences', 'seed'] as const;

/** Swaps the two leading axes of a (d0, d1, inner) array: batch-first <-> time-major. */
function swapLeadingAxes(src: Float32Array, d0: number, d1: number, inner: number): Float32Array {
  const dst = uninitialized(Float32Array, src.length);  // every element is set below
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      dst.set(src.subarray((i * d1 + j) * inner, (i * d1 + j + 1) * inner), (j * d0 + i) * inner);
    }
  }
  return dst;
}

/** Converts and checks `lengths`: B integers in [0, T]. */
function toLengths(where: string, value: unknown, B: number, T: number): Int32Array {
  let values: ArrayLike<number | bigint>;
  if (value !== null && typeof value === 'object' && 'data' in value && 'shape' in value) {
    const t = value as Tensor<TensorData>;
    if (!(t.data instanceof Int32Array || t.data instanceof BigInt64Array)) {
      throw typeError(`${where}: lengths.data must be an Int32Array or BigInt64Array, got ${describe(t.data)}`);
    }
    if (t.shape.length !== 1 || t.shape[0] !== B || t.data.length !== B) {
      throw rangeError(`${where}: lengths must have shape [${B}] (B), got ${formatShape(t.shape)}`, 'ERR_LSTM_SHAPE');
    }
    values = t.data;
  } else if (Array.isArray(value) || value instanceof Int32Array || value instanceof BigInt64Array ||
    value instanceof Float64Array || value instanceof Float32Array || value instanceof Uint32Array) {
    values = value as ArrayLike<number | bigint>;
  } else {
    throw typeError(`${where}: lengths must be an array of B integers, an Int32Array or a BigInt64Array, got ${describe(value)}`);
  }
  if (values.length !== B) {
    throw rangeError(`${where}: lengths must have ${B} entries (B), got ${values.length}`, 'ERR_LSTM_SHAPE');
  }
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const v = values[b];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > T) {
      throw rangeError(`${where}: lengths[${b}] must be an integer in [0, ${T}] (T), got ${String(v)}`);
    }
    out[b] = n;
  }
  return out;
}

/**
 * A multi-layer, optionally bidirectional LSTM with PyTorch's numbers and state-dict names.
 *
 * @example
 * const lstm = new LSTM({ inputSize: 8, hiddenSize: 16 });
 * const { output, h, c } = lstm.forward(tensor(new Float32Array(5 * 2 * 8), [5, 2, 8]));
 * const grads = lstm.backward({ output: tensor(new Float32Array(5 * 2 * 16).fill(1), [5, 2, 16]) });
 */
export class LSTM extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly batchFirst: boolean;
  readonly projSize: number;
  readonly dropout: number;
  readonly returnSequences: boolean;
  /** @internal */
  readonly stack: LstmStack<Float32Array>;
  private lastBatchFirst: { T: number; B: number } | null = null;

  /**
   * @throws TypeError or RangeError for a missing, misspelled or invalid option
   * (sizes must be positive integers, projSize in [0, hiddenSize)).
   */
  constructor(options: LSTMOptions) {
    const where = 'new LSTM';
    const o = checkOptions(where, options, OPTION_NAMES);
    if (options === undefined) throw typeError(`${where}: options must be an object with inputSize and hiddenSize, got undefined`);
    const cfg = LSTM.checkConfig(where, o);
    super(lstmLayout(cfg).size);
    this.inputSize = cfg.inputSize;
    this.hiddenSize = cfg.hiddenSize;
    this.numLayers = cfg.numLayers;
    this.bidirectional = cfg.bidirectional;
    this.projSize = cfg.projSize;
    this.batchFirst = checkBoolean(where, 'batchFirst', o.batchFirst ?? false);
    this.dropout = checkNumber(where, 'dropout', o.dropout ?? 0, 0, 1, false);
    this.returnSequences = checkBoolean(where, 'returnSequences', o.returnSequences ?? true);
    const seed = o.seed === undefined ? freshSeed() : checkInteger(where, 'seed', o.seed, 0, 0xffffffff);
    this.stack = new LstmStack(cfg, Float32Array, { params: this.values, grads: this.grads });
    this.stack.dropout = this.dropout;
    const rng = new Random(seed);
    this.resetParameters(rng);
    this.reseed(rng.nextUint32());
  }

  /** Every option this LSTM was built with (the seed excepted): `new LSTM(lstm.config())` builds the same architecture. */
  config(): Required<Omit<LSTMOptions, 'seed'>> {
    return {
      inputSize: this.inputSize, hiddenSize: this.hiddenSize, numLayers: this.numLayers, bidirectional: this.bidirectional,
      batchFirst: this.batchFirst, projSize: this.projSize, dropout: this.dropout, returnSequences: this.returnSequences,
    };
  }

  /** PyTorch's default: every parameter uniform in [-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)]. */
  resetParameters(rng: Random): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    rng.uniform(this.values, -k, k);
  }

  override reseed(seed: number): void {
    this.stack.rng = new Random(seed);
  }

  override train(mode = true): this {
    super.train(mode);
    this.stack.training = mode;
    return this;
  }

  /**
   * Sets the forget-gate biases (rows H..2H of bias_ih and bias_hh of every layer and direction)
   * so that their sum is `value` (Jozefowicz et al., 2015 recommend 1): bias_ih gets `value`,
   * bias_hh zero, as Keras' unit_forget_bias.
   */
  setForgetGateBias(value: number): void {
    checkNumber(`${this.where}.setForgetGateBias`, 'value', value);
    const H = this.hiddenSize;
    for (const ld of this.stack.layout.layerDirs) {
      this.values.fill(value, ld.bIh.offset + H, ld.bIh.offset + 2 * H);
      this.values.fill(0, ld.bHh.offset + H, ld.bHh.offset + 2 * H);
    }
  }

  inputFeatures(): Features {
    return { kind: 'features', size: this.inputSize };
  }

  outputFeatures(): Features {
    return { kind: 'features', size: this.stack.D * this.outputSize };
  }

  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    const out = this.forward(x as Tensor, {
      ...(state.lengths ? { lengths: state.lengths } : {}), ...(state.noGrad ? { noGrad: true } : {}),
    });
    if (this.returnSequences) return out.output;
    // The last layer's final states are the last valid step of each direction.
    const { D } = this.stack;
    const Ho = this.outputSize;
    const B = out.h.shape[1]!;
    const last = new Float32Array(B * D * Ho);
    for (let d = 0; d < D; d++) {
      const src = ((this.numLayers - 1) * D + d) * B * Ho;
      for (let b = 0; b < B; b++) last.set(out.h.data.subarray(src + b * Ho, src + (b + 1) * Ho), (b * D + d) * Ho);
    }
    return { data: last, shape: [B, D * Ho] };
  }

  backwardChain(grad: Tensor, inputGrad = true): Tensor | null {
    const options = { inputGrad };
    if (this.returnSequences) return this.backward({ output: grad }, options).x;
    const { D } = this.stack;
    const Ho = this.outputSize;
    const B = this.lastBatchFirst?.B ?? 0;
    checkTensor(`${this.where}.backward`, 'grad', grad, [B, D * Ho], Float32Array, 'shaped like the last step output');
    const gh = new Float32Array(this.numStates * B * Ho);
    for (let d = 0; d < D; d++) {
      const dst = ((this.numLayers - 1) * D + d) * B * Ho;
      for (let b = 0; b < B; b++) gh.set(grad.data.subarray((b * D + d) * Ho, (b * D + d + 1) * Ho), dst + b * Ho);
    }
    return this.backward({ h: { data: gh, shape: [this.numStates, B, Ho] } }, options).x;
  }

  /** Checks the size options (the rest are checked in the constructor). */
  private static checkConfig(where: string, o: Record<string, unknown>) {
    const inputSize = checkInteger(where, 'inputSize', o.inputSize);
    const hiddenSize = checkInteger(where, 'hiddenSize', o.hiddenSize);
    const numLayers = checkInteger(where, 'numLayers', o.numLayers ?? 1);
    const bidirectional = checkBoolean(where, 'bidirectional', o.bidirectional ?? false);
    const projSize = checkInteger(where, 'projSize', o.projSize ?? 0, 0);
    if (projSize >= hiddenSize) {
      throw rangeError(`${where}: projSize must be smaller than hiddenSize (${hiddenSize}), got ${projSize}`);
    }
    return { inputSize, hiddenSize, numLayers, bidirectional, projSize };
  }

  /** Parameter slots with PyTorch's names, in PyTorch's order. */
  get slots(): readonly ParamSlot[] {
    return this.stack.layout.slots;
  }

  protected override onBind(): void {
    this.stack.bind(this.values, this.grads);
  }

  override assertIdle(where: string): void {
    this.stack.assertIdle(where);
  }

  /** Size of h and of each direction's output: projSize when set, else hiddenSize. */
  get outputSize(): number {
    return this.stack.Hout;
  }

  private get numStates(): number {
    return this.stack.D * this.numLayers;
  }

  /** Checks the inputs and turns them into time-major arrays. */
  private prepare(where: string, x: Tensor, options: LSTMForwardOptions | undefined) {
    const o = checkOptions(where, options, ['h0', 'c0', 'lengths', 'noGrad']);
    const grad = !checkBoolean(where, 'noGrad', o.noGrad ?? false);
    const xs = checkTensor(where, 'x', x, this.batchFirst ? ['B', 'T', this.inputSize] : ['T', 'B', this.inputSize],
      Float32Array, `inputSize ${this.inputSize}${this.batchFirst ? ', batchFirst' : ''}`);
    const [d0, d1] = xs.shape as [number, number, number];
    const T = this.batchFirst ? d1 : d0;
    const B = this.batchFirst ? d0 : d1;
    if (T < 1 || B < 1) throw rangeError(`${where}: x must have at least one step and one sequence, got ${formatShape(xs.shape)}`, 'ERR_LSTM_SHAPE');
    const S = this.numStates;
    const h0 = o.h0 === undefined ? null
      : checkTensor(where, 'h0', o.h0, [S, B, this.outputSize], Float32Array, `D*numLayers, B, ${this.projSize ? 'projSize' : 'hiddenSize'}`).data;
    const c0 = o.c0 === undefined ? null
      : checkTensor(where, 'c0', o.c0, [S, B, this.hiddenSize], Float32Array, 'D*numLayers, B, hiddenSize').data;
    const lengths = o.lengths === undefined ? null : toLengths(where, o.lengths, B, T);
    const data = this.batchFirst ? swapLeadingAxes(xs.data, B, T, this.inputSize) : xs.data;
    return { data, T, B, h0, c0, lengths, grad };
  }

  private finishForward(r: StackForwardResult<Float32Array>, T: number, B: number, grad: boolean): LSTMOutput {
    const F = this.stack.D * this.outputSize;
    const S = this.numStates;
    this.lastBatchFirst = grad ? { T, B } : null;
    return {
      output: this.batchFirst ? { data: swapLeadingAxes(r.y, T, B, F), shape: [B, T, F] } : { data: r.y, shape: [T, B, F] },
      h: { data: r.hn, shape: [S, B, this.outputSize] },
      c: { data: r.cn, shape: [S, B, this.hiddenSize] },
    };
  }

  /**
   * Runs the LSTM over a batch of sequences and keeps what {@link LSTM.backward} needs.
   * Blocks the calling thread; {@link LSTM.forwardAsync} runs off it.
   * @param x (T, B, inputSize), or (B, T, inputSize) with batchFirst.
   * @throws TypeError / RangeError naming the argument for a wrong type, shape or length.
   */
  forward(x: Tensor, options?: LSTMForwardOptions): LSTMOutput {
    const where = 'lstm.forward';
    this.stack.assertIdle(where);
    const p = this.prepare(where, x, options);
    return this.finishForward(this.stack.forward(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad), p.T, p.B, p.grad);
  }

  /** {@link LSTM.forward} on libuv's thread pool; the module is busy until the promise settles. */
  async forwardAsync(x: Tensor, options?: LSTMForwardOptions): Promise<LSTMOutput> {
    const where = 'lstm.forwardAsync';
    this.stack.assertIdle(where);
    const p = this.prepare(where, x, options);
    return this.finishForward(await this.stack.forwardAsync(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad),
      p.T, p.B, p.grad);
  }

  private prepareBackward(where: string, grads: LSTMGradients | undefined) {
    const o = checkOptions(where, grads ?? {}, ['output', 'h', 'c']);
    const shape = this.lastBatchFirst;
    if (!shape) {
      throw new LstmError(`${where}: call forward() before backward() (a forward with noGrad keeps nothing for it)`,
        'ERR_LSTM_STATE');
    }
    const { T, B } = shape;
    const F = this.stack.D * this.outputSize;
    const S = this.numStates;
    const gy = o.output === undefined ? null
      : checkTensor(where, 'output', o.output, this.batchFirst ? [B, T, F] : [T, B, F], Float32Array,
        'shaped like the forward output').data;
    const gh = o.h === undefined ? null : checkTensor(where, 'h', o.h, [S, B, this.outputSize], Float32Array, 'shaped like h').data;
    const gc = o.c === undefined ? null : checkTensor(where, 'c', o.c, [S, B, this.hiddenSize], Float32Array, 'shaped like c').data;
    return { T, B, dy: gy && this.batchFirst ? swapLeadingAxes(gy, B, T, F) : gy, gh, gc };
  }

  private static inputGrad(where: string, options: LSTMBackwardOptions | undefined): boolean {
    const o = checkOptions(where, options ?? {}, ['inputGrad']);
    return o.inputGrad === undefined ? true : checkBoolean(where, 'inputGrad', o.inputGrad);
  }

  private finishBackward(r: { dx: Float32Array | null; dh0: Float32Array; dc0: Float32Array }, T: number, B: number):
    LSTMInputGradients {
    const S = this.numStates;
    const I = this.inputSize;
    const dx = r.dx;
    return {
      // null only when the caller asked for no input gradient (the overloads type that case)
      x: (dx === null ? null
        : this.batchFirst ? { data: swapLeadingAxes(dx, T, B, I), shape: [B, T, I] } : { data: dx, shape: [T, B, I] }) as Tensor,
      h0: { data: r.dh0, shape: [S, B, this.outputSize] },
      c0: { data: r.dc0, shape: [S, B, this.hiddenSize] },
    };
  }

  /**
   * Backpropagation through time for the last forward: returns the gradients of x, h0 and c0 and
   * adds the parameter gradients into {@link LSTM.namedGradients} (they accumulate: call
   * {@link LSTM.zeroGrad} between steps).
   * @param grads gradients of the loss w.r.t. the forward's output, h and c; omitted ones are zero.
   * @param options `inputGrad: false` skips the gradient of x (then `x` is null).
   * @throws LstmError ERR_LSTM_STATE before any forward; TypeError / RangeError for a bad shape.
   */
  backward(grads?: LSTMGradients, options?: LSTMBackwardOptions & { inputGrad?: true }): LSTMInputGradients;
  backward(grads: LSTMGradients | undefined, options: LSTMBackwardOptions): Omit<LSTMInputGradients, 'x'> & { x: Tensor | null };
  backward(grads?: LSTMGradients, options?: LSTMBackwardOptions): LSTMInputGradients {
    const where = 'lstm.backward';
    this.stack.assertIdle(where);
    const inputGrad = LSTM.inputGrad(where, options);
    const p = this.prepareBackward(where, grads);
    return this.finishBackward(this.stack.backward(p.dy, p.gh, p.gc, where, inputGrad), p.T, p.B);
  }

  /** {@link LSTM.backward} on libuv's thread pool; the module is busy until the promise settles. */
  backwardAsync(grads?: LSTMGradients, options?: LSTMBackwardOptions & { inputGrad?: true }): Promise<LSTMInputGradients>;
  backwardAsync(grads: LSTMGradients | undefined, options: LSTMBackwardOptions):
    Promise<Omit<LSTMInputGradients, 'x'> & { x: Tensor | null }>;
  async backwardAsync(grads?: LSTMGradients, options?: LSTMBackwardOptions): Promise<LSTMInputGradients> {
    const where = 'lstm.backwardAsync';
    this.stack.assertIdle(where);
    const inputGrad = LSTM.inputGrad(where, options);
    const p = this.prepareBackward(where, grads);
    return this.finishBackward(await this.stack.backwardAsync(p.dy, p.gh, p.gc, where, inputGrad), p.T, p.B);
  }
}
