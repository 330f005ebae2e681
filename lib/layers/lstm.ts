/**
 * The public LSTM module: PyTorch's nn.LSTM (same options in camelCase, same state-dict names and
 * numbers), with an explicit forward/backward pair instead of autograd. Shapes are PyTorch's:
 *   x (T, B, I), or (B, T, I) with batchFirst      output (T, B, D*Hout), or (B, T, D*Hout)
 *   h0, h (D*L, B, Hout)                            c0, c (D*L, B, H)
 * with D = 2 when bidirectional, L = numLayers, Hout = projSize || hiddenSize.
 */
import { describe, formatShape, rangeError, typeError } from '../errors.js';
import type { ParamSlot } from '../parameters.js';
import { lstmLayout } from './lstm-layout.js';
import { Module, type ChainBackward, type ChainState, type Features } from './module.js';
import { checkSeed, Random, freshSeed } from '../random.js';
import { checkLengths, checkTensor, type SequenceLengths, type Tensor, type TensorData } from '../tensor.js';
import { uninitialized } from '../uninitialized.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../validate.js';
import { LstmStack, type StackForwardResult, type StackOutputs } from './lstm-stack.js';

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
  /**
   * How the gate biases start. `'default'`: PyTorch's, every bias uniform in ±1/sqrt(hiddenSize).
   * `'chrono'`: chrono initialisation (Tallec and Ollivier, 2018, "Can recurrent neural networks
   * warp time?") for dependencies up to `maxTimeLag` steps: in every layer and direction, unit j's
   * forget-gate bias is b_f = log(u_j) with u_j uniform in [1, maxTimeLag - 1], its input-gate bias
   * is -b_f, and the cell and output-gate biases are 0. PyTorch keeps two bias vectors whose sum
   * is the gate's bias; all of it goes into `bias_ih` and `bias_hh` is 0, so bias_ih + bias_hh is
   * exactly the paper's value. Weights keep PyTorch's default. Default `'default'`.
   */
  biasInit?: 'default' | 'chrono';
  /**
   * The longest time lag (in steps) the chrono initialisation prepares for, a number > 2: the
   * forget gates' characteristic times 1/(1 - sigmoid(b_f)) = 1 + u_j spread over [2, maxTimeLag].
   * Required with `biasInit: 'chrono'`, not allowed otherwise.
   */
  maxTimeLag?: number;
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
  lengths?: SequenceLengths;
  /**
   * Inference only: keep nothing for backward (a much smaller workspace and less memory traffic;
   * backward() then throws until the next forward without it). Default false.
   */
  noGrad?: boolean;
  /**
   * Arrays to write the results into instead of new ones, each a Float32Array tensor of exactly
   * the result's shape (any of the three may be given); the result then holds these tensors. A
   * loop that passes the previous call's results back allocates nothing large per call, which
   * saves the page faults of fresh memory (most of a call's system time with glibc's default
   * allocator). They must not share memory with `x`, `h0`, `c0` or each other. With
   * {@link LSTM.forwardAsync} they are written when the promise settles, and must not be used meanwhile.
   */
  out?: LSTMForwardOutputs;
}

/** Caller-owned result arrays for {@link LSTMForwardOptions.out}. */
export interface LSTMForwardOutputs {
  /** (T, B, D*Hout), or (B, T, D*Hout) with batchFirst. */
  output?: Tensor;
  /** (D*L, B, Hout). */
  h?: Tensor;
  /** (D*L, B, H). */
  c?: Tensor;
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
  /**
   * Keep the forward's activations for another backward (PyTorch's `retain_graph`). Default false:
   * a backward consumes them, and a second backward of the same forward throws ERR_LSTM_STATE
   * instead of silently adding the same gradients again.
   */
  retainGraph?: boolean;
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
  'returnSequences', 'seed', 'biasInit', 'maxTimeLag'] as const;

/** Swaps the two leading axes of a (d0, d1, inner) array: batch-first <-> time-major. */
function swapLeadingAxes(src: Float32Array, d0: number, d1: number, inner: number,
  dst: Float32Array = uninitialized(Float32Array, src.length)): Float32Array {
  // every element of dst is set below
  for (let i = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      dst.set(src.subarray((i * d1 + j) * inner, (i * d1 + j + 1) * inner), (j * d0 + i) * inner);
    }
  }
  return dst;
}

/** `t` (a caller's `out` tensor) holding `data`, or `data` as a new tensor when there is no `t`. */
function into(t: Tensor | undefined, data: Float32Array, shape: number[]): Tensor {
  if (t === undefined) return { data, shape };
  if (t.data !== data) (t.data as Float32Array).set(data);
  return t;
}

/** Whether two typed arrays overlap in memory. */
function sharesMemory(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Checks `biasInit` and `maxTimeLag` together: chrono needs a lag > 2, the default takes none. */
function checkBiasInit(where: string, biasInit: unknown, maxTimeLag: unknown):
  { biasInit: 'default' | 'chrono'; maxTimeLag: number | null } {
  const kind = biasInit ?? 'default';
  if (typeof kind !== 'string') throw typeError(`${where}: biasInit must be 'default' or 'chrono', got ${describe(kind)}`);
  if (kind !== 'default' && kind !== 'chrono') {
    throw rangeError(`${where}: biasInit must be 'default' or 'chrono', got ${describe(kind)}`);
  }
  if (kind === 'default') {
    if (maxTimeLag !== undefined) {
      throw rangeError(`${where}: maxTimeLag is only used with biasInit 'chrono', got biasInit 'default' and maxTimeLag ${describe(maxTimeLag)}`);
    }
    return { biasInit: kind, maxTimeLag: null };
  }
  if (maxTimeLag === undefined) {
    throw rangeError(`${where}: biasInit 'chrono' needs maxTimeLag (the longest dependency in steps, a number > 2), got undefined`);
  }
  if (typeof maxTimeLag !== 'number') throw typeError(`${where}: maxTimeLag must be a number > 2, got ${describe(maxTimeLag)}`);
  if (!Number.isFinite(maxTimeLag) || maxTimeLag <= 2) {
    throw rangeError(`${where}: maxTimeLag must be a finite number > 2, got ${describe(maxTimeLag)}`);
  }
  return { biasInit: kind, maxTimeLag };
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
  /** How the biases start ({@link LSTMOptions.biasInit}); {@link LSTM.resetParameters} follows it. */
  readonly biasInit: 'default' | 'chrono';
  /** The chrono initialisation's longest time lag, or null with `biasInit: 'default'`. */
  readonly maxTimeLag: number | null;
  /** The engine: workspaces and what backward needs from the last forward. @internal */
  readonly stack: LstmStack<Float32Array>;

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
    const seed = o.seed === undefined ? freshSeed() : checkSeed(where, 'seed', o.seed);
    const bias = checkBiasInit(where, o.biasInit, o.maxTimeLag);
    this.biasInit = bias.biasInit;
    this.maxTimeLag = bias.maxTimeLag;
    this.stack = new LstmStack(cfg, Float32Array, { params: this.values, grads: this.grads, block: this.block });
    this.stack.dropout = this.dropout;
    const rng = new Random(seed);
    this.initParameters(rng);
    this.reseed(rng.nextUint32());
  }

  /**
   * Every option this LSTM was built with (the seed and the bias initialisation excepted, which
   * only decide the initial values): `new LSTM(lstm.config())` builds the same architecture.
   */
  config(): Required<Omit<LSTMOptions, 'seed' | 'biasInit' | 'maxTimeLag'>> {
    return {
      inputSize: this.inputSize, hiddenSize: this.hiddenSize, numLayers: this.numLayers, bidirectional: this.bidirectional,
      batchFirst: this.batchFirst, projSize: this.projSize, dropout: this.dropout, returnSequences: this.returnSequences,
    };
  }

  /**
   * PyTorch's default: every parameter uniform in [-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)]; with
   * `biasInit: 'chrono'` the biases are then drawn again as {@link LSTMOptions.biasInit} says. @internal
   */
  protected initParameters(rng: Random): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    rng.uniform(this.values, -k, k);
    if (this.maxTimeLag !== null) this.chronoBiases(this.maxTimeLag, rng);
  }

  /**
   * Chrono biases in every layer and direction, in layout order: H draws u in [1, maxTimeLag - 1]
   * each; bias_ih gets log(u) in the forget rows (H..2H) and -log(u) in the input rows (0..H),
   * every other bias is 0.
   */
  private chronoBiases(maxTimeLag: number, rng: Random): void {
    const H = this.hiddenSize;
    const u = new Float64Array(H);
    for (const ld of this.stack.layout.layerDirs) {
      rng.uniform(u, 1, maxTimeLag - 1);
      const bIh = this.values.subarray(ld.bIh.offset, ld.bIh.offset + 4 * H);
      bIh.fill(0);
      this.values.fill(0, ld.bHh.offset, ld.bHh.offset + 4 * H);
      for (let j = 0; j < H; j++) {
        bIh[H + j] = Math.log(u[j]!);
        bIh[j] = -bIh[H + j]!;  // the negated float32: the two gates' biases cancel exactly
      }
    }
  }

  override reseed(seed: number): void {
    this.stack.rng = new Random(seed);
  }

  /** The generator of the between-layer dropout masks, as `rng` (see {@link Module.rngState}). @internal */
  override randomGenerators(): Record<string, Random> {
    return this.stack.rng ? { rng: this.stack.rng } : {};
  }

  override train(mode = true): this {
    super.train(mode);
    this.stack.training = mode;
    return this;
  }

  /**
   * Sets the forget-gate biases (rows H..2H of bias_ih and bias_hh of every layer and direction)
   * so that their sum is `value` (Jozefowicz et al., 2015 recommend 1): bias_ih gets `value`,
   * bias_hh zero, as Keras' unit_forget_bias. Gives the parameters a new version.
   * @throws TypeError / RangeError unless value is a finite number; LstmError ERR_LSTM_BUSY while an
   *   async call runs on the model.
   */
  setForgetGateBias(value: number): void {
    const where = `${this.where}.setForgetGateBias`;
    checkNumber(where, 'value', value);
    this.block.assertWritable(where);
    const H = this.hiddenSize;
    for (const ld of this.stack.layout.layerDirs) {
      this.values.fill(value, ld.bIh.offset + H, ld.bIh.offset + 2 * H);
      this.values.fill(0, ld.bHh.offset + H, ld.bHh.offset + 2 * H);
    }
    this.block.touch();
  }

  /** @internal */
  inputFeatures(): Features {
    return { kind: 'features', size: this.inputSize };
  }

  /** @internal */
  outputFeatures(): Features {
    return { kind: 'features', size: this.stack.D * this.outputSize };
  }

  /** @internal */
  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    const where = 'lstm.forward';
    this.stack.assertIdle(where, state.lease);
    const p = this.prepare(where, x as Tensor, this.chainForwardOptions(state));
    const r = this.stack.forward(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad, state.lease,
      this.stackOutputs(p, where, false, !this.returnSequences));
    return this.chainOutput(r, p.T, p.B, state);
  }

  /** @internal */
  override async forwardChainAsync(x: Tensor<TensorData>, state: ChainState): Promise<Tensor> {
    const where = 'lstm.forwardAsync';
    this.stack.assertIdle(where, state.lease);
    const p = this.prepare(where, x as Tensor, this.chainForwardOptions(state));
    const r = await this.stack.forwardAsync(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad,
      state.lease, this.stackOutputs(p, where, true, !this.returnSequences));
    return this.chainOutput(r, p.T, p.B, state);
  }

  /** @internal */
  backwardChain(grad: Tensor, step: ChainBackward): Tensor | null {
    const where = 'lstm.backward';
    this.stack.assertIdle(where, step.lease);
    const p = this.prepareBackward(where, this.chainGradients(where, grad, step));
    const out = this.finishBackward(this.stack.backward(p.dy, p.gh, p.gc, where, step.inputGrad, step.retain, step.lease,
      this.batchFirst), p.T, p.B);
    step.initial?.set(this, { h: out.h0, c: out.c0 });
    return out.x;
  }

  /** @internal */
  override async backwardChainAsync(grad: Tensor, step: ChainBackward): Promise<Tensor | null> {
    const where = 'lstm.backwardAsync';
    this.stack.assertIdle(where, step.lease);
    const p = this.prepareBackward(where, this.chainGradients(where, grad, step));
    const out = this.finishBackward(await this.stack.backwardAsync(p.dy, p.gh, p.gc, where, step.inputGrad, step.retain,
      step.lease, this.batchFirst), p.T, p.B);
    step.initial?.set(this, { h: out.h0, c: out.c0 });
    return out.x;
  }

  /** The forward options of a chain step: its lengths, noGrad, and this LSTM's initial state when the chain has one. */
  private chainForwardOptions(state: ChainState): LSTMForwardOptions {
    const init = state.initial?.get(this);
    return {
      ...(state.lengths ? { lengths: state.lengths } : {}), ...(state.noGrad ? { noGrad: true } : {}),
      ...(init?.h ? { h0: init.h } : {}), ...(init?.c ? { c0: init.c } : {}),
    };
  }

  /**
   * Records the final state for the chain and passes on every step or each sequence's last valid
   * one (then the engine's y, in its reused array, is not read).
   */
  private chainOutput(r: StackForwardResult<Float32Array>, T: number, B: number, state: ChainState): Tensor {
    const { h, c } = this.finishStates(r, B);
    state.final?.set(this, { h, c });
    if (this.returnSequences) return this.finishForward(r, T, B).output;
    // The last layer's final states are the last valid step of each direction.
    const { D } = this.stack;
    const Ho = this.outputSize;
    const last = new Float32Array(B * D * Ho);
    for (let d = 0; d < D; d++) {
      const src = ((this.numLayers - 1) * D + d) * B * Ho;
      for (let b = 0; b < B; b++) last.set(h.data.subarray(src + b * Ho, src + (b + 1) * Ho), (b * D + d) * Ho);
    }
    return { data: last, shape: [B, D * Ho] };
  }

  /**
   * The upstream gradients of a chain step: the output's (every step, or the last valid step added
   * into the last layer's h) and those of the final state when the chain passes them.
   */
  private chainGradients(where: string, grad: Tensor, step: ChainBackward): LSTMGradients {
    const fin = step.final?.get(this);
    const S = this.numStates;
    const Ho = this.outputSize;
    const { B } = this.stack.checkBackward(where);
    const gh = fin?.h === undefined ? undefined
      : checkTensor(where, 'state gradient h', fin.h, [S, B, Ho], Float32Array, 'shaped like h').data;
    const gc = fin?.c === undefined ? undefined
      : checkTensor(where, 'state gradient c', fin.c, [S, B, this.hiddenSize], Float32Array, 'shaped like c');
    if (this.returnSequences) {
      return { output: grad, ...(gh ? { h: { data: gh, shape: [S, B, Ho] } } : {}), ...(gc ? { c: gc } : {}) };
    }
    const { D } = this.stack;
    checkTensor(where, 'grad', grad, [B, D * Ho], Float32Array, 'shaped like the last step output');
    // A copy: the caller's state gradient is not changed by adding the output's into it.
    const h = gh ? gh.slice() : new Float32Array(S * B * Ho);
    for (let d = 0; d < D; d++) {
      const dst = ((this.numLayers - 1) * D + d) * B * Ho;
      for (let b = 0; b < B; b++) {
        const src = grad.data.subarray((b * D + d) * Ho, (b * D + d + 1) * Ho);
        if (!gh) h.set(src, dst + b * Ho);
        else for (let k = 0; k < Ho; k++) h[dst + b * Ho + k] = h[dst + b * Ho + k]! + src[k]!;
      }
    }
    return { h: { data: h, shape: [S, B, Ho] }, ...(gc ? { c: gc } : {}) };
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

  /** @internal */
  protected override onBind(): void {
    this.stack.bind({ params: this.values, grads: this.grads, block: this.block });
  }

  /** @internal */
  override checkBackward(where: string): void {
    this.stack.checkBackward(where);
  }

  /** Size of h and of each direction's output: projSize when set, else hiddenSize. */
  get outputSize(): number {
    return this.stack.Hout;
  }

  private get numStates(): number {
    return this.stack.D * this.numLayers;
  }

  /**
   * Checks the inputs and turns them into time-major arrays. `own`: the call runs after this
   * returns (async), so h0 and c0 are copied (x and lengths are copied by the engine and the check).
   */
  private prepare(where: string, x: Tensor, options: LSTMForwardOptions | undefined, own = false) {
    const o = checkOptions(where, options, ['h0', 'c0', 'lengths', 'noGrad', 'out']);
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
    const copy = (a: Float32Array | null): Float32Array | null => (own && a ? a.slice() : a);
    const lengths = o.lengths === undefined ? null : checkLengths(where, o.lengths, B, T);
    const out = this.checkOutputs(where, o.out, T, B, [xs.data, h0, c0]);
    // Reordered into the engine's reused input array (the copy backward needs anyway).
    const data = this.batchFirst
      ? swapLeadingAxes(xs.data, B, T, this.inputSize, this.stack.inputBuffer(xs.data.length, where)) : xs.data;
    return { data, T, B, h0: copy(h0), c0: copy(c0), lengths, grad, out };
  }

  /** Checks forward's `out` option: tensors of the results' shapes, sharing memory with no input and no other. */
  private checkOutputs(where: string, value: unknown, T: number, B: number, inputs: (Float32Array | null)[]):
    LSTMForwardOutputs {
    if (value === undefined) return {};
    const o = checkOptions(`${where}: out`, value, ['output', 'h', 'c']) as LSTMForwardOutputs;
    const F = this.stack.D * this.outputSize;
    const S = this.numStates;
    const expected = { output: this.batchFirst ? [B, T, F] : [T, B, F], h: [S, B, this.outputSize], c: [S, B, this.hiddenSize] };
    const seen: Float32Array[] = inputs.filter((a): a is Float32Array => a !== null);
    for (const key of ['output', 'h', 'c'] as const) {
      if (o[key] === undefined) continue;
      const data = checkTensor(where, `out.${key}`, o[key], expected[key], Float32Array, `shaped like the result's ${key}`).data;
      if (seen.some((a) => sharesMemory(a, data))) {
        throw rangeError(`${where}: out.${key} must not share memory with x, h0, c0 or another out array`, 'ERR_LSTM_SHAPE');
      }
      seen.push(data);
    }
    return o;
  }

  /** The engine's output arrays for a call: time-major y in the reused `output` array when it is reordered or copied after. */
  private stackOutputs(p: { T: number; B: number; out: LSTMForwardOutputs }, where: string, async: boolean,
    outputUnused = false): StackOutputs<Float32Array> {
    const n = p.T * p.B * this.stack.D * this.outputSize;
    // Async: the worker writes only the library's own memory (the caller's `out` is filled when it settles).
    // `outputUnused`: a chain step that passes on only the final states (returnSequences false).
    if (this.batchFirst || outputUnused || (async && p.out.output)) return { y: this.stack.scratch('output', n, where) };
    return async ? {} : { ...(p.out.output ? { y: p.out.output.data } : {}), ...(p.out.h ? { hn: p.out.h.data } : {}),
      ...(p.out.c ? { cn: p.out.c.data } : {}) };
  }

  /** The result tensors: the engine's arrays, or the caller's `out` tensors written from them. */
  private finishForward(r: StackForwardResult<Float32Array>, T: number, B: number, out: LSTMForwardOutputs = {}): LSTMOutput {
    const F = this.stack.D * this.outputSize;
    const output = this.batchFirst
      ? { data: swapLeadingAxes(r.y, T, B, F, out.output?.data as Float32Array | undefined), shape: [B, T, F] }
      : into(out.output, r.y, [T, B, F]);
    const states = this.finishStates(r, B, out);
    return { output: this.batchFirst && out.output ? out.output : output, h: states.h, c: states.c };
  }

  /** The final-state tensors: the engine's arrays, or the caller's `out` tensors written from them. */
  private finishStates(r: StackForwardResult<Float32Array>, B: number, out: LSTMForwardOutputs = {}): { h: Tensor; c: Tensor } {
    const S = this.numStates;
    return { h: into(out.h, r.hn, [S, B, this.outputSize]), c: into(out.c, r.cn, [S, B, this.hiddenSize]) };
  }

  /**
   * Runs the LSTM over a batch of sequences and keeps what {@link LSTM.backward} needs.
   * Blocks the calling thread; {@link LSTM.forwardAsync} runs off it.
   * @param x (T, B, inputSize), or (B, T, inputSize) with batchFirst.
   * @throws TypeError / RangeError naming the argument for a wrong type, shape or length; LstmError
   *   ERR_LSTM_BUSY while an async call runs on the model.
   */
  forward(x: Tensor, options?: LSTMForwardOptions): LSTMOutput {
    const where = 'lstm.forward';
    this.stack.assertIdle(where);
    const p = this.prepare(where, x, options);
    const r = this.stack.forward(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad, undefined, this.stackOutputs(p, where, false));
    return this.finishForward(r, p.T, p.B, p.out);
  }

  /**
   * {@link LSTM.forward} on libuv's thread pool. The model (this LSTM, or the Sequential it is in) is
   * busy until the promise settles: calls that write its parameters or gradients, or run a forward
   * or backward on it, throw ERR_LSTM_BUSY meanwhile (see Parameters for the rules). Every input is
   * copied when the call is made: changing, transferring or detaching the caller's arrays afterwards
   * does not change the result.
   */
  async forwardAsync(x: Tensor, options?: LSTMForwardOptions): Promise<LSTMOutput> {
    const where = 'lstm.forwardAsync';
    this.stack.assertIdle(where);
    const p = this.prepare(where, x, options, true);
    const r = await this.stack.forwardAsync(p.data, p.T, p.B, p.h0, p.c0, p.lengths, where, p.grad, undefined,
      this.stackOutputs(p, where, true));
    return this.finishForward(r, p.T, p.B, p.out);
  }

  /** Checks the upstream gradients against the last forward; `own` copies them (see prepare). */
  private prepareBackward(where: string, grads: LSTMGradients | undefined, own = false) {
    const o = checkOptions(where, grads ?? {}, ['output', 'h', 'c']);
    const { T, B } = this.stack.checkBackward(where);
    const F = this.stack.D * this.outputSize;
    const S = this.numStates;
    const gy = o.output === undefined ? null
      : checkTensor(where, 'output', o.output, this.batchFirst ? [B, T, F] : [T, B, F], Float32Array,
        'shaped like the forward output').data;
    const gh = o.h === undefined ? null : checkTensor(where, 'h', o.h, [S, B, this.outputSize], Float32Array, 'shaped like h').data;
    const gc = o.c === undefined ? null : checkTensor(where, 'c', o.c, [S, B, this.hiddenSize], Float32Array, 'shaped like c').data;
    const copy = (a: Float32Array | null): Float32Array | null => (own && a ? a.slice() : a);
    // Batch-first gradients are reordered into the engine's reused array (a copy anyway).
    const dy = gy && this.batchFirst ? swapLeadingAxes(gy, B, T, F, this.stack.scratch('dy', gy.length, where)) : copy(gy);
    return { T, B, dy, gh: copy(gh), gc: copy(gc) };
  }

  private static backwardOptions(where: string, options: LSTMBackwardOptions | undefined): { inputGrad: boolean; retain: boolean } {
    const o = checkOptions(where, options ?? {}, ['inputGrad', 'retainGraph']);
    return {
      inputGrad: o.inputGrad === undefined ? true : checkBoolean(where, 'inputGrad', o.inputGrad),
      retain: o.retainGraph === undefined ? false : checkBoolean(where, 'retainGraph', o.retainGraph),
    };
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
   * {@link LSTM.zeroGrad} between steps). Consumes the forward's activations unless `retainGraph`.
   * @param grads gradients of the loss w.r.t. the forward's output, h and c; omitted ones are zero.
   * @param options `inputGrad: false` skips the gradient of x (then `x` is null); `retainGraph: true`
   *   keeps the activations for another backward.
   * @throws LstmError ERR_LSTM_STATE before any forward, after a noGrad forward, for a second backward
   *   of one forward (without retainGraph) and when the parameters changed since the forward
   *   (optimizer step, loadStateDict, ...); ERR_LSTM_BUSY while an async call runs on the model;
   *   TypeError / RangeError for a bad shape. Nothing changes when it throws.
   */
  backward(grads?: LSTMGradients, options?: LSTMBackwardOptions & { inputGrad?: true }): LSTMInputGradients;
  backward(grads: LSTMGradients | undefined, options: LSTMBackwardOptions): Omit<LSTMInputGradients, 'x'> & { x: Tensor | null };
  backward(grads?: LSTMGradients, options?: LSTMBackwardOptions): LSTMInputGradients {
    const where = 'lstm.backward';
    this.stack.assertIdle(where);
    const { inputGrad, retain } = LSTM.backwardOptions(where, options);
    const p = this.prepareBackward(where, grads);
    return this.finishBackward(this.stack.backward(p.dy, p.gh, p.gc, where, inputGrad, retain, undefined, this.batchFirst),
      p.T, p.B);
  }

  /**
   * {@link LSTM.backward} on libuv's thread pool; the model is busy until the promise settles, and
   * the upstream gradients are copied when the call is made (see forwardAsync).
   */
  backwardAsync(grads?: LSTMGradients, options?: LSTMBackwardOptions & { inputGrad?: true }): Promise<LSTMInputGradients>;
  backwardAsync(grads: LSTMGradients | undefined, options: LSTMBackwardOptions):
    Promise<Omit<LSTMInputGradients, 'x'> & { x: Tensor | null }>;
  async backwardAsync(grads?: LSTMGradients, options?: LSTMBackwardOptions): Promise<LSTMInputGradients> {
    const where = 'lstm.backwardAsync';
    this.stack.assertIdle(where);
    const { inputGrad, retain } = LSTM.backwardOptions(where, options);
    const p = this.prepareBackward(where, grads, true);
    return this.finishBackward(await this.stack.backwardAsync(p.dy, p.gh, p.gc, where, inputGrad, retain, undefined,
      this.batchFirst), p.T, p.B);
  }
}
