/**
 * Sequential: layers applied in order, with one parameter block for the whole model. The names
 * given to the layers are the state-dict prefixes (`embed.weight`, `lstm.weight_ih_l0`,
 * `head.bias`, as a PyTorch module with those attributes). Sequence lengths flow through the
 * chain, and an LSTM with `returnSequences: false` passes on each sequence's last valid step.
 * Feature sizes are checked when the Sequential is built, not at the first forward.
 *
 * A layer belongs to one model: the constructor refuses a layer already in a Sequential, and it is
 * atomic (it checks every layer, idle and unowned, before moving any into the new block, so a
 * refused constructor leaves every layer as it was). See parameters.ts for the rules of the block.
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import type { BusyLease, ParamSlot } from '../parameters.js';
import { checkSeed, Random } from '../random.js';
import type { SequenceLengths, Tensor, TensorData } from '../tensor.js';
import { checkBoolean, checkInteger, checkOptions } from '../validate.js';
import { LSTM } from './lstm.js';
import { Module, type ChainBackward, type ChainState, type Features, type RecurrentState } from './module.js';
import { fitModel, predictModel } from '../train/fit.js';
import type { FitData, FitOptions, History, InputData, PredictOptions } from '../train/types.js';

/** Options of {@link Sequential}. */
export interface SequentialOptions {
  /** Re-initialise every layer's parameters and dropout masks from this seed, in layer order. */
  seed?: number;
}

/** Options of {@link Sequential.forward}. */
export interface SequentialForwardOptions {
  /** Valid steps of each sequence (B), passed to every LSTM in the chain. */
  lengths?: SequenceLengths;
  /** Inference only: the LSTMs keep nothing for backward (less memory, faster). Default false. */
  noGrad?: boolean;
}

/** Options of {@link Sequential.backward}. */
export interface SequentialBackwardOptions {
  /**
   * Compute the gradient of the model's input (default true). False lets the first layer skip it
   * (for an LSTM, one product as large as its input projection); backward then returns null.
   */
  inputGrad?: boolean;
  /**
   * Keep every layer's activations for another backward (PyTorch's `retain_graph`). Default false:
   * a backward consumes them, and a second backward of the same forward throws ERR_LSTM_STATE.
   */
  retainGraph?: boolean;
}

/** What a Sequential is built from: an object of name -> layer, or an array (a tuple) of layers. */
export type SequentialLayers = Record<string, Module> | readonly Module[];

/**
 * The `[name, layer]` entries of a Sequential, typed from what it was built from: a tuple gives
 * each entry its own layer type (`model.layers[1][1]` is the second layer's class); an object gives
 * entries whose name tells the layer type apart (`if (name === 'lstm') layer.forward(...)`).
 */
export type SequentialEntries<L extends SequentialLayers> = L extends readonly Module[]
  ? { readonly [K in keyof L]: readonly [K extends `${number}` ? K : string, L[K]] }
  : ReadonlyArray<{ [K in keyof L & string]: readonly [K, L[K]] }[keyof L & string]>;

/**
 * The recurrent state of every LSTM in a Sequential, by the LSTM's path in the model: its layer
 * name (`lstm`), or `outer.inner` inside a nested Sequential. Each is the LSTM's
 * `{ h: (D*L, B, Hout), c: (D*L, B, H) }`.
 */
export type SequentialState = Record<string, RecurrentState>;

/** Options of {@link Sequential.forwardWithState}. */
export interface SequentialStateForwardOptions extends SequentialForwardOptions {
  /**
   * Initial (h, c) of the LSTMs by path (see {@link SequentialState}); an LSTM left out, or a part
   * left out, starts from zeros. Usually the `state` a previous call returned (truncated BPTT,
   * generation).
   */
  state?: Record<string, Partial<RecurrentState>>;
}

/** What {@link Sequential.forwardWithState} returns. */
export interface SequentialStateOutput {
  /** The last layer's output, as {@link Sequential.forward} returns it. */
  output: Tensor;
  /** The final (h, c) of every LSTM in the chain, by path: fresh arrays, detached from the model. */
  state: SequentialState;
}

/** Options of {@link Sequential.backwardWithState}. */
export interface SequentialStateBackwardOptions extends SequentialBackwardOptions {
  /** Gradients of the loss with respect to the final (h, c) of LSTMs by path; left out: zero. */
  state?: Record<string, Partial<RecurrentState>>;
}

/** What {@link Sequential.backwardWithState} returns. */
export interface SequentialStateGradients {
  /** The input's gradient, or null for token ids or with `inputGrad: false`. */
  input: Tensor | null;
  /** The gradients of every LSTM's initial (h, c), by path. */
  state: SequentialState;
}

function describeFeatures(f: Features): string {
  return f.kind === 'tokens' ? 'token ids' : f.size === null ? 'features of any size' : `${f.size} features`;
}

/**
 * A chain of layers sharing one parameter block.
 * @example
 * const model = new Sequential({
 *   embed: new Embedding({ numEmbeddings: 65, embeddingDim: 64 }),
 *   lstm: new LSTM({ inputSize: 64, hiddenSize: 256, batchFirst: true }),
 *   head: new Linear({ inFeatures: 256, outFeatures: 65 }),
 * });
 * const logits = model.forward(tokens);   // (B, T) ids -> (B, T, 65)
 * model.backward(dLogits);
 */
export class Sequential<const L extends SequentialLayers = SequentialLayers> extends Module {
  /** The layers by name, in order: `[name, layer]` entries typed from the constructor's argument. */
  readonly layers: SequentialEntries<L>;
  private readonly byName: ReadonlyMap<string, Module>;
  private readonly layout: ParamSlot[];

  /**
   * @param layers an object of name -> layer (names become state-dict prefixes) or an array
   *   (names "0", "1", ...)
   * @throws RangeError when a layer's output does not fit the next one's input, or a layer is
   *   already part of a model; LstmError ERR_LSTM_BUSY while an async call runs on a layer.
   *   Nothing changes when it throws.
   */
  constructor(layers: L, options?: SequentialOptions) {
    const where = 'new Sequential';
    const o = checkOptions(where, options, ['seed']);
    if (layers === null || typeof layers !== 'object') {
      throw typeError(`${where}: layers must be an object of name -> layer or an array of layers, got ${describe(layers)}`);
    }
    const entries: [string, Module][] = Array.isArray(layers) ? layers.map((l, i) => [String(i), l])
      : Object.entries(layers as Record<string, Module>);
    if (entries.length === 0) throw rangeError(`${where}: needs at least one layer`);
    const seed = o.seed === undefined ? undefined : checkSeed(where, 'seed', o.seed);
    const seen = new Set<Module>();
    for (const [name, layer] of entries) {
      if (!(layer instanceof Module)) throw typeError(`${where}: layer "${name}" must be a layer (LSTM, Linear, Embedding, Dropout, Sequential), got ${describe(layer)}`);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw rangeError(`${where}: layer name "${name}" must be letters, digits or _ (it becomes a state-dict prefix)`);
      if (seen.has(layer)) throw rangeError(`${where}: layer "${name}" appears twice; each layer may be used once`);
      if (layer.container !== null) {
        throw rangeError(`${where}: layer "${name}" already belongs to another model (a Sequential); a layer belongs to ` +
          'one model: build a new layer (copy the weights with loadStateDict(layer.stateDict()) if needed)', 'ERR_LSTM_STATE');
      }
      // Checked for every layer before any moves: a busy layer must not end up half in the new block.
      layer.assertIdle(where);
      seen.add(layer);
    }
    // Each layer's output must fit the next one's input.
    let flow = entries[0]![1].inputFeatures();
    entries.forEach(([name, layer], i) => {
      const wants = layer.inputFeatures();
      const fits = wants.kind === 'tokens' ? flow.kind === 'tokens'
        : flow.kind === 'features' && (wants.size === null || flow.size === null || wants.size === flow.size);
      if (!fits) {
        const prev = entries[i - 1]![0];
        throw rangeError(`${where}: layer "${name}" takes ${describeFeatures(wants)}, but "${prev}" produces ${describeFeatures(flow)}`,
          'ERR_LSTM_SHAPE');
      }
      flow = layer.outputFeatures(flow.kind === 'features' && flow.size !== null ? flow : wants);
    });
    const layout: ParamSlot[] = [];
    let offset = 0;
    for (const [name, layer] of entries) {
      for (const s of layer.slots) layout.push({ name: `${name}.${s.name}`, shape: [...s.shape], offset: offset + s.offset, size: s.size });
      offset += layer.parameters().size;
    }
    super(offset);
    this.layers = entries as unknown as SequentialEntries<L>;
    this.byName = new Map(entries);
    this.layout = layout;
    // One block for the whole model: each layer moves into its part, keeping its values, and its
    // old block is retired (Parameters taken from it are refused from now on). Nothing here throws.
    let at = 0;
    for (const [, layer] of entries) {
      const old = layer.block;
      const n = layer.parameters().size;
      layer.bindTo(this.block, at);
      layer.container = this;
      old.retire('a Sequential');
      at += n;
    }
    if (seed !== undefined) {
      const rng = new Random(seed);
      this.initParameters(rng);
      for (const [, layer] of entries) layer.reseed(rng.nextUint32());
    }
  }

  get slots(): readonly ParamSlot[] {
    return this.layout;
  }

  /**
   * The layer with this name (an index `"0"`, `"1"`, ... for a Sequential built from an array),
   * typed from the constructor's argument.
   * @throws RangeError for a name the model does not have.
   */
  getLayer<K extends keyof L & string>(name: K): L[K] {
    const layer = this.byName.get(name);
    if (layer === undefined) {
      throw rangeError(`${this.where}.getLayer: no layer named ${describe(name)}; layers: ${[...this.byName.keys()].join(', ')}`);
    }
    return layer as L[K];
  }

  private get entries(): ReadonlyArray<readonly [string, Module]> {
    return this.layers as unknown as ReadonlyArray<readonly [string, Module]>;
  }

  /** @internal */
  protected override onBind(offset: number): void {
    let at = offset;
    for (const [, layer] of this.entries) {
      const n = layer.parameters().size;
      layer.bindTo(this.block, at);
      at += n;
    }
  }

  /** @internal */
  protected initParameters(rng: Random): void {
    for (const [, layer] of this.entries) layer.resetParameters(rng);
  }

  override reseed(seed: number): void {
    const rng = new Random(seed);
    for (const [, layer] of this.entries) layer.reseed(rng.nextUint32());
  }

  /** Every layer's generators, prefixed with the layer's name (`drop.rng`). @internal */
  override randomGenerators(): Record<string, Random> {
    const out: Record<string, Random> = {};
    for (const [name, layer] of this.entries) {
      for (const [k, rng] of Object.entries(layer.randomGenerators())) out[`${name}.${k}`] = rng;
    }
    return out;
  }

  /** @internal */
  override chainLayers(): Module[] {
    return this.entries.flatMap(([, layer]) => layer.chainLayers());
  }

  override train(mode = true): this {
    super.train(mode);
    for (const [, layer] of this.entries) layer.train(mode);
    return this;
  }

  /** @internal */
  inputFeatures(): Features {
    return this.entries[0]![1].inputFeatures();
  }

  /** @internal */
  outputFeatures(input: Features): Features {
    let flow = input;
    for (const [, layer] of this.entries) flow = layer.outputFeatures(flow);
    return flow;
  }

  /**
   * Runs every layer in order.
   * @param x token ids (B, T) for a model starting with an Embedding, else features (..., inFeatures)
   * @param options `lengths` for the LSTMs in the chain
   */
  forward(x: Tensor<TensorData>, options?: SequentialForwardOptions): Tensor {
    const where = `${this.where}.forward`;
    const o = checkOptions(where, options, ['lengths', 'noGrad']);
    const noGrad = o.noGrad === undefined ? false : checkBoolean(where, 'noGrad', o.noGrad);
    this.assertIdle(where);
    return this.forwardChain(x, { lengths: (o.lengths ?? null) as ChainState['lengths'], noGrad });
  }

  /**
   * Backpropagates `grad` (shaped like the last forward's output) through every layer; returns the
   * input's gradient, or null for token ids or with `inputGrad: false`. Every layer is checked
   * before any gradient changes: a backward that throws leaves every gradient as it was.
   * @throws LstmError ERR_LSTM_STATE before a forward, after a noGrad forward, for a second
   *   backward of one forward (without retainGraph) and when the parameters changed since the
   *   forward; ERR_LSTM_BUSY while an async call runs on the model; RangeError for a grad of the
   *   wrong shape.
   */
  backward(grad: Tensor, options: SequentialBackwardOptions = {}): Tensor | null {
    const where = `${this.where}.backward`;
    const o = checkOptions(where, options, ['inputGrad', 'retainGraph']);
    const inputGrad = o.inputGrad === undefined ? true : checkBoolean(where, 'inputGrad', o.inputGrad);
    const retain = o.retainGraph === undefined ? false : checkBoolean(where, 'retainGraph', o.retainGraph);
    this.assertIdle(where);
    this.checkBackward(where);
    return this.backwardChain(grad, { inputGrad, retain });
  }

  /** @internal */
  override checkBackward(where: string): void {
    for (const [, layer] of this.entries) layer.checkBackward(where);
  }

  /** Every LSTM in the chain by path (`lstm`, `outer.inner` in a nested Sequential), in layer order. */
  recurrentLayers(): Map<string, LSTM> {
    const out = new Map<string, LSTM>();
    for (const [name, layer] of this.entries) {
      if (layer instanceof LSTM) out.set(name, layer);
      else if (layer instanceof Sequential) for (const [inner, l] of layer.recurrentLayers()) out.set(`${name}.${inner}`, l);
    }
    return out;
  }

  /**
   * The all-zero state of every LSTM for a batch of B sequences, by path: what
   * {@link Sequential.forwardWithState} starts from when no state is given.
   */
  zeroState(batchSize: number): SequentialState {
    const B = checkInteger(`${this.where}.zeroState`, 'batchSize', batchSize);
    const out: SequentialState = {};
    for (const [path, lstm] of this.recurrentLayers()) {
      const S = (lstm.bidirectional ? 2 : 1) * lstm.numLayers;
      out[path] = {
        h: { data: new Float32Array(S * B * lstm.outputSize), shape: [S, B, lstm.outputSize] },
        c: { data: new Float32Array(S * B * lstm.hiddenSize), shape: [S, B, lstm.hiddenSize] },
      };
    }
    return out;
  }

  /**
   * Checks a `state` option (initial states or final-state gradients) and keys it by module.
   * Tensor shapes are checked by each LSTM when it runs.
   */
  private stateMap(where: string, state: unknown): Map<Module, Partial<RecurrentState>> {
    const out = new Map<Module, Partial<RecurrentState>>();
    if (state === undefined) return out;
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw typeError(`${where}: state must be an object of LSTM path -> { h, c }, got ${describe(state)}`);
    }
    const lstms = this.recurrentLayers();
    for (const [path, entry] of Object.entries(state)) {
      const lstm = lstms.get(path);
      if (!lstm) {
        const known = [...lstms.keys()];
        throw rangeError(`${where}: state has an entry "${path}", but the LSTMs of this model are ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}`);
      }
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw typeError(`${where}: state["${path}"] must be an object { h, c }, got ${describe(entry)}`);
      }
      out.set(lstm, checkOptions(`${where}: state["${path}"]`, entry, ['h', 'c']) as Partial<RecurrentState>);
    }
    return out;
  }

  /** The final states the chain recorded, by path. */
  private statesByPath(states: Map<Module, RecurrentState>): SequentialState {
    const out: SequentialState = {};
    for (const [path, lstm] of this.recurrentLayers()) {
      const st = states.get(lstm);
      if (st) out[path] = st;
    }
    return out;
  }

  private forwardStateArgs(where: string, options: SequentialStateForwardOptions | undefined):
    { chain: ChainState; final: Map<Module, RecurrentState> } {
    const o = checkOptions(where, options, ['lengths', 'noGrad', 'state']);
    const noGrad = o.noGrad === undefined ? false : checkBoolean(where, 'noGrad', o.noGrad);
    const final = new Map<Module, RecurrentState>();
    const chain: ChainState = { lengths: (o.lengths ?? null) as ChainState['lengths'], noGrad,
      initial: this.stateMap(where, o.state), final };
    return { chain, final };
  }

  /**
   * Checks a backward's options (`state` only when withState) and that every layer may run its
   * backward; the step to pass down, with the map the LSTMs fill with their initial-state gradients.
   */
  private backwardStateArgs(where: string, grad: unknown, options: SequentialStateBackwardOptions | undefined,
    withState: boolean): ChainBackward & { initial: Map<Module, RecurrentState> } {
    const o = checkOptions(where, options, withState ? ['inputGrad', 'retainGraph', 'state'] : ['inputGrad', 'retainGraph']);
    const inputGrad = o.inputGrad === undefined ? true : checkBoolean(where, 'inputGrad', o.inputGrad);
    const retain = o.retainGraph === undefined ? false : checkBoolean(where, 'retainGraph', o.retainGraph);
    if (grad === null || typeof grad !== 'object') {
      throw typeError(`${where}: grad must be a tensor shaped like the last forward's output, got ${describe(grad)}`);
    }
    const final = this.stateMap(where, o.state);
    this.checkBackward(where);
    return { inputGrad, retain, final, initial: new Map() };
  }

  /** Runs `work` with this model's block busy under one lease (other calls throw ERR_LSTM_BUSY until it settles). */
  private async whileBusy<R>(where: string, work: (lease: BusyLease) => Promise<R>): Promise<R> {
    const lease = this.block.acquire(where);
    try {
      return await work(lease);
    } finally {
      lease.release();
    }
  }

  /**
   * {@link Sequential.forward} that also takes the initial (h, c) of every LSTM in the chain and
   * returns their final ones: the way to carry state across chunks (truncated BPTT: feed the
   * returned state to the next call; it is already detached) or across generation steps.
   * @param x as {@link Sequential.forward}
   * @param options `state` by LSTM path (see {@link SequentialState}), `lengths`, `noGrad`
   * @throws RangeError for a state entry naming no LSTM of the model, or a tensor of the wrong shape;
   *   LstmError ERR_LSTM_BUSY while an async call runs on the model
   */
  forwardWithState(x: Tensor<TensorData>, options?: SequentialStateForwardOptions): SequentialStateOutput {
    const where = `${this.where}.forwardWithState`;
    this.assertIdle(where);
    const { chain, final } = this.forwardStateArgs(where, options);
    const output = this.forwardChain(x, chain);
    return { output, state: this.statesByPath(final) };
  }

  /**
   * {@link Sequential.backward} that also takes the gradients of the LSTMs' final states (as
   * {@link Sequential.forwardWithState} returned them) and returns those of their initial states.
   * Parameter gradients accumulate, as in backward; the same checks and `retainGraph`.
   * @param grad shaped like the last forward's output
   */
  backwardWithState(grad: Tensor, options?: SequentialStateBackwardOptions): SequentialStateGradients {
    const where = `${this.where}.backwardWithState`;
    this.assertIdle(where);
    const step = this.backwardStateArgs(where, grad, options, true);
    const input = this.backwardChain(grad, step);
    return { input: step.inputGrad ? input : null, state: this.statesByPath(step.initial) };
  }

  /**
   * {@link Sequential.forward} with every LSTM on libuv's thread pool (other layers are light and
   * run between them); the same bits as the synchronous call. The model is busy (ERR_LSTM_BUSY)
   * until the promise settles.
   */
  forwardAsync(x: Tensor<TensorData>, options?: SequentialForwardOptions): Promise<Tensor> {
    const where = `${this.where}.forwardAsync`;
    return this.whileBusy(where, async (lease) => {
      const o = checkOptions(where, options, ['lengths', 'noGrad']);
      const noGrad = o.noGrad === undefined ? false : checkBoolean(where, 'noGrad', o.noGrad);
      return this.forwardChainAsync(x, { lengths: (o.lengths ?? null) as ChainState['lengths'], noGrad, lease });
    });
  }

  /** {@link Sequential.forwardWithState} off the main thread, as {@link Sequential.forwardAsync}. */
  forwardWithStateAsync(x: Tensor<TensorData>, options?: SequentialStateForwardOptions): Promise<SequentialStateOutput> {
    const where = `${this.where}.forwardWithStateAsync`;
    return this.whileBusy(where, async (lease) => {
      const { chain, final } = this.forwardStateArgs(where, options);
      const output = await this.forwardChainAsync(x, { ...chain, lease });
      return { output, state: this.statesByPath(final) };
    });
  }

  /** {@link Sequential.backward} off the main thread, as {@link Sequential.forwardAsync}. */
  backwardAsync(grad: Tensor, options?: SequentialBackwardOptions): Promise<Tensor | null> {
    const where = `${this.where}.backwardAsync`;
    return this.whileBusy(where, async (lease) => {
      const step = this.backwardStateArgs(where, grad, options, false);
      const input = await this.backwardChainAsync(grad, { ...step, lease });
      return step.inputGrad ? input : null;
    });
  }

  /** {@link Sequential.backwardWithState} off the main thread, as {@link Sequential.forwardAsync}. */
  backwardWithStateAsync(grad: Tensor, options?: SequentialStateBackwardOptions): Promise<SequentialStateGradients> {
    const where = `${this.where}.backwardWithStateAsync`;
    return this.whileBusy(where, async (lease) => {
      const step = this.backwardStateArgs(where, grad, options, true);
      const input = await this.backwardChainAsync(grad, { ...step, lease });
      return { input: step.inputGrad ? input : null, state: this.statesByPath(step.initial) };
    });
  }

  /**
   * Trains the model (docs/training.md): batches, padding and lengths, shuffling, validation,
   * callbacks, early stopping, checkpoints and exact resume, with every LSTM step off the main
   * thread. Resolves to the per-epoch history.
   * @param data `{ x, y, lengths? }`, `{ tokens }` with `tbptt`, or an async iterable of batches
   * @throws TypeError / RangeError (rejected) naming a bad option or data before any work
   * @example
   * const history = await model.fit({ x, y }, { epochs: 5, batchSize: 64, loss: 'mse', validationSplit: 0.1 });
   */
  fit(data: FitData, options?: FitOptions): Promise<History> {
    return fitModel(this, data, options);
  }

  /**
   * The model's output for every sequence of x, in evaluation mode, off the main thread:
   * (N, outFeatures) per sequence, or (N, T, outFeatures) per step.
   * @param x `number[][][]` (ragged allowed), a tensor (N, T, I) with `lengths`, or token ids
   */
  predict(x: InputData, options?: PredictOptions): Promise<Tensor> {
    return predictModel(this, x, options);
  }

  /** @internal */
  forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor {
    let flow: Tensor<TensorData> = x;
    const s: ChainState = { ...state };
    for (const [, layer] of this.entries) flow = layer.forwardChain(flow, s);
    return flow as Tensor;
  }

  /** @internal */
  override async forwardChainAsync(x: Tensor<TensorData>, state: ChainState): Promise<Tensor> {
    let flow: Tensor<TensorData> = x;
    const s: ChainState = { ...state };
    for (const [, layer] of this.entries) flow = await layer.forwardChainAsync(flow, s);
    return flow as Tensor;
  }

  /** @internal */
  backwardChain(grad: Tensor, step: ChainBackward): Tensor | null {
    const layers = this.entries;
    let g: Tensor | null = grad;
    for (let i = layers.length - 1; i >= 0; i--) {
      g = layers[i]![1].backwardChain(this.gradFor(i, g), { ...step, inputGrad: i > 0 || step.inputGrad });
    }
    return step.inputGrad ? g : null;
  }

  /** @internal */
  override async backwardChainAsync(grad: Tensor, step: ChainBackward): Promise<Tensor | null> {
    const layers = this.entries;
    let g: Tensor | null = grad;
    for (let i = layers.length - 1; i >= 0; i--) {
      g = await layers[i]![1].backwardChainAsync(this.gradFor(i, g), { ...step, inputGrad: i > 0 || step.inputGrad });
    }
    return step.inputGrad ? g : null;
  }

  /** The gradient reaching layer i; throws when the layer after it took token ids (no gradient). */
  private gradFor(i: number, g: Tensor | null): Tensor {
    if (g === null) {
      throw new LstmError(`${this.where}.backward: layer "${this.entries[i]![0]}" has no gradient to pass back (it follows a layer taking token ids)`,
        'ERR_LSTM_STATE');
    }
    return g;
  }
}
