/**
 * The base of every layer: its parameters live in one Float32Array block (gradients in a second,
 * same layout) cut into named slots with PyTorch's names. A layer alone owns its block; a
 * Sequential allocates one block for all its layers and rebinds each to its part, so a whole
 * model is still two flat arrays. Every layer has an explicit forward and backward (no autograd).
 * The ownership, busy and version rules of the block are stated in parameters.ts.
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { ParamBlock, Parameters, viewsOf, type BusyLease, type ParamSlot } from '../parameters.js';
import { checkRandomState, freshSeed, Random, type RandomState } from '../random.js';
import { checkTensor, type SequenceLengths, type Tensor, type TensorData } from '../tensor.js';
import { checkBoolean, checkOptions } from '../validate.js';
import type { SavedActivations } from './saved.js';

/** Options of {@link Module.save} and `saveModel`. */
export interface SaveModelOptions {
  /** Extra string metadata kept in the file (keys other than the format's own). */
  metadata?: Record<string, string>;
}

/** The model-file writer behind {@link Module.save}. */
type ModelSaver = (model: Module, path: string, options?: SaveModelOptions) => Promise<void>;
let modelSaver: ModelSaver | null = null;

/**
 * Installs the writer behind {@link Module.save}. The file code (io/model-file.ts) sits above the
 * layers and imports them, so it plugs itself in when loaded (the package's entry loads it) rather
 * than being imported from here.
 */
export function installModelSaver(saver: ModelSaver): void {
  modelSaver = saver;
}

/** The recurrent state of one LSTM: h (D*L, B, Hout) and c (D*L, B, H), as LSTM.forward's h0/c0 and h/c. */
export interface RecurrentState {
  h: Tensor;
  c: Tensor;
}

/** What flows beside the activations through a Sequential (package-internal). */
export interface ChainState {
  /** The sequence lengths, when given (each LSTM checks them). */
  lengths: SequenceLengths | null;
  /** Inference only: layers keep nothing for backward. */
  noGrad?: boolean;
  /** The lease of a caller that holds the model's block busy across the whole chain. */
  lease?: BusyLease;
  /** Initial state of an LSTM in the chain, by module; an LSTM not in it starts from zeros. */
  initial?: ReadonlyMap<Module, Partial<RecurrentState>>;
  /** When given, every LSTM in the chain sets its final state here. */
  final?: Map<Module, RecurrentState>;
}

/** The recurrent-state part of a chain backward (package-internal). */
export interface ChainGradState {
  /** Gradient of an LSTM's final state, by module; absent parts are zero. */
  final?: ReadonlyMap<Module, Partial<RecurrentState>>;
  /** When given, every LSTM in the chain sets the gradient of its initial state here. */
  initial?: Map<Module, RecurrentState>;
}

/** How a Sequential asks a layer for its backward (package-internal). */
export interface ChainBackward extends ChainGradState {
  /** False: the caller does not need the input's gradient (a layer may skip it and return null). */
  inputGrad: boolean;
  /** True: the forward's activations stay for another backward (retainGraph). */
  retain: boolean;
  /** The lease of a caller that holds the model's block busy across the whole chain. */
  lease?: BusyLease;
}

/** Options of the backward of Linear, Embedding and Dropout. */
export interface BackwardOptions {
  /**
   * Keep the forward's activations for another backward (PyTorch's `retain_graph`). Default false:
   * a backward consumes them, and a second backward of the same forward throws ERR_LSTM_STATE.
   */
  retainGraph?: boolean;
}

/** Checks {@link BackwardOptions} (package-internal). */
export function backwardOptions(where: string, options: unknown): { retain: boolean } {
  const o = checkOptions(where, options, ['retainGraph']);
  return { retain: o.retainGraph === undefined ? false : checkBoolean(where, 'retainGraph', o.retainGraph) };
}

/** What a layer consumes or produces along the last dimension, for Sequential's build-time check. */
export type Features = { kind: 'tokens' } | { kind: 'features'; size: number | null };

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw on missing or unexpected keys (default true). Shapes are always checked. */
  strict?: boolean;
}

/** What a non-strict {@link Module.loadStateDict} did not match. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** The storage this module's parameters live in: its own, or its model's. @internal */
  block: ParamBlock;
  /** This module's parameters (a view into its model's block once inside a Sequential). */
  protected values: Float32Array;
  /** Their gradients, same layout. */
  protected grads: Float32Array;
  /** True in training mode (the default), false after {@link Module.eval}. */
  protected training = true;
  /** The model (a Sequential) this module was put into, or null: a module belongs to one model. @internal */
  container: Module | null = null;
  /**
   * What the last forward kept for the backward, for layers that keep it here (the LSTM keeps it in
   * its engine and a Sequential in its layers: both override checkBackward). @internal
   */
  protected readonly saved: SavedActivations<unknown> | null = null;

  /** @throws RangeError ERR_LSTM_ARG_RANGE when `size` parameters cannot be allocated. */
  protected constructor(size: number) {
    this.block = ParamBlock.allocate(Float32Array, size, `new ${new.target.name}`);
    this.values = this.block.values;
    this.grads = this.block.grads;
  }

  /** Parameter slots with local names (`weight`, `weight_ih_l0`, ...) and offsets in this block. */
  abstract get slots(): readonly ParamSlot[];

  /** Name used in error messages: `lstm`, `linear`, ... */
  protected get where(): string {
    return this.constructor.name.toLowerCase();
  }

  /**
   * Moves this module's parameters and gradients to `block` from `offset` on, copying the current
   * ones (every value is kept). The caller (a container) has checked that the module is idle and
   * that the block has room; this never throws, so a container's constructor stays atomic.
   * @internal
   */
  bindTo(block: ParamBlock, offset: number): void {
    const n = this.values.length;
    const values = block.values.subarray(offset, offset + n);
    const grads = block.grads.subarray(offset, offset + n);
    values.set(this.values);
    grads.set(this.grads);
    this.block = block;
    this.values = values;
    this.grads = grads;
    this.onBind(offset);
  }

  /**
   * Draws fresh initial parameters (each layer's PyTorch default) from `rng` (default: a generator
   * seeded from the process-wide one, see manualSeed), and gives the parameters a new version.
   * @throws LstmError ERR_LSTM_BUSY while an async call runs on the model; TypeError for an rng
   *   that is not a Random.
   */
  resetParameters(rng?: Random): void {
    const where = `${this.where}.resetParameters`;
    if (rng !== undefined && !(rng instanceof Random)) throw typeError(`${where}: rng must be a Random, got ${describe(rng)}`);
    this.block.assertWritable(where);
    this.initParameters(rng ?? new Random(freshSeed()));
    this.block.touch();
  }

  /** Fills the parameters with the layer's initial values from `rng` (the work of resetParameters). @internal */
  protected abstract initParameters(rng: Random): void;

  /** Reseeds the generator of any randomness at run time (dropout masks). */
  reseed(_seed: number): void {}

  /**
   * What the layer takes along the last dimension: token indices, or features of a given size
   * (null: any). Sequential checks each layer's output against the next one's input when built.
   * @internal
   */
  abstract inputFeatures(): Features;
  /** What the layer produces given what it takes. @internal */
  abstract outputFeatures(input: Features): Features;

  /** Forward as a step of a Sequential: may read and change the lengths. @internal */
  abstract forwardChain(x: Tensor<TensorData>, state: ChainState): Tensor;
  /** Backward as a step of a Sequential: the gradient of the input, or null for token inputs. @internal */
  abstract backwardChain(grad: Tensor, step: ChainBackward): Tensor | null;

  /**
   * Throws (ERR_LSTM_STATE, as a backward would) unless a backward may run now: a forward kept its
   * activations, no backward consumed them, and the parameters have not changed since. A container
   * asks every layer before its backward changes any gradient. @internal
   */
  checkBackward(where: string): void {
    this.saved?.check(where, this.block);
  }

  /**
   * {@link Module.forwardChain} with the heavy work off the main thread; the same bits. Layers
   * with native async work override it; the default runs the synchronous forward. @internal
   */
  forwardChainAsync(x: Tensor<TensorData>, state: ChainState): Promise<Tensor> {
    return Promise.resolve().then(() => this.forwardChain(x, state));
  }

  /** {@link Module.backwardChain} with the heavy work off the main thread; the same bits. @internal */
  backwardChainAsync(grad: Tensor, step: ChainBackward): Promise<Tensor | null> {
    return Promise.resolve().then(() => this.backwardChain(grad, step));
  }

  /**
   * The generators of this module's run-time randomness (dropout masks) by name; a container
   * prefixes its layers' names as in the state dict (`drop.rng`, `lstm.rng`). @internal
   */
  randomGenerators(): Record<string, Random> {
    return {};
  }

  /**
   * The state of every generator of run-time randomness (dropout masks) by name, as plain JSON:
   * with {@link Module.loadRngState}, a resumed run draws the same masks as an uninterrupted one.
   * Empty for a module without randomness.
   */
  rngState(): Record<string, RandomState> {
    const out: Record<string, RandomState> = {};
    for (const [name, rng] of Object.entries(this.randomGenerators())) out[name] = rng.state();
    return out;
  }

  /**
   * Restores what {@link Module.rngState} returned. Every name must match (a RangeError names the
   * missing or unexpected ones) and every state be valid; nothing changes otherwise.
   */
  loadRngState(states: Record<string, RandomState>): void {
    const where = `${this.where}.loadRngState`;
    this.assertIdle(where);
    if (states === null || typeof states !== 'object' || Array.isArray(states)) {
      throw typeError(`${where}: states must be an object of name -> random state (as rngState() returns), got ${describe(states)}`);
    }
    const gens = this.randomGenerators();
    const missing = Object.keys(gens).filter((k) => !Object.hasOwn(states, k));
    const unexpected = Object.keys(states).filter((k) => !Object.hasOwn(gens, k));
    if (missing.length || unexpected.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.join(', ')}`);
      throw rangeError(`${where}: random states do not match this ${this.constructor.name}: ${parts.join('; ')}`, 'ERR_LSTM_STATE_DICT');
    }
    // Check all first, so a bad entry leaves every generator as it was.
    for (const name of Object.keys(gens)) checkRandomState(where, states[name], `states["${name}"]`);
    for (const [name, rng] of Object.entries(gens)) rng.loadState(states[name]!);
  }

  /** Called after the buffers moved to `offset` of `this.block`; layers that cache views refresh them here. @internal */
  protected onBind(_offset: number): void {}

  /** Throws ERR_LSTM_BUSY while an async call runs on this module's model. @internal */
  assertIdle(where: string): void {
    this.block.assertIdle(where);
  }

  /** The layers a forward runs through, in order: this module itself, or a container's layers flattened. @internal */
  chainLayers(): Module[] {
    return [this];
  }

  /** True in training mode. */
  get isTraining(): boolean {
    return this.training;
  }

  /** Training mode (dropout active); returns this. */
  train(mode = true): this {
    this.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** The flat parameter and gradient arrays with their named slots, for optimizers and clipping. */
  parameters(): Parameters {
    return new Parameters(this.values, this.grads, this.slots);
  }

  /** Live views of every parameter by name: writing into them changes the model. */
  namedParameters(): Record<string, Tensor> {
    return viewsOf(this.values, this.slots);
  }

  /** Live views of every gradient, with the names of {@link Module.namedParameters}. */
  namedGradients(): Record<string, Tensor> {
    return viewsOf(this.grads, this.slots);
  }

  /**
   * Sets every gradient to zero.
   * @throws LstmError ERR_LSTM_BUSY while an async call runs on the model.
   */
  zeroGrad(): void {
    this.assertIdle(`${this.where}.zeroGrad`);
    this.grads.fill(0);
  }

  /** A copy of every parameter by name, as PyTorch's `state_dict()`. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const s of this.slots) out[s.name] = { data: this.values.slice(s.offset, s.offset + s.size), shape: [...s.shape] };
    return out;
  }

  /**
   * Saves this model as a self-describing model file (safetensors: parameters under their PyTorch
   * names, the architecture in the metadata; docs/formats.md), atomically. `loadModel(path)` rebuilds
   * it with no code. The parameters are copied when the call is made.
   * @throws TypeError for a module type the format cannot describe; LstmError ERR_LSTM_FILE naming the
   *   path and the reason when the write fails (the previous file is then intact).
   */
  async save(path: string, options?: SaveModelOptions): Promise<void> {
    if (modelSaver === null) {
      throw new LstmError(`${this.where}.save: the model-file code is not loaded; import the package ('lstm-native'), ` +
        'whose entry loads it', 'ERR_LSTM_STATE');
    }
    return modelSaver(this, path, options);
  }

  /**
   * Copies parameters in by name (PyTorch names, as readSafetensors returns them). Float64Array
   * data is accepted and rounded to float32. Strict by default: a missing or unexpected key throws
   * RangeError; a wrong shape always does. Nothing changes unless every tensor is valid. Gives the
   * parameters a new version: a backward of an earlier forward is then refused.
   * @throws LstmError ERR_LSTM_BUSY while an async call runs on the model.
   */
  loadStateDict(tensors: Record<string, Tensor<TensorData>>, options?: LoadStateDictOptions): LoadStateDictResult {
    const where = `${this.where}.loadStateDict`;
    this.assertIdle(where);
    const strict = checkOptions(where, options, ['strict']).strict ?? true;
    if (typeof strict !== 'boolean') throw typeError(`${where}: strict must be a boolean, got ${describe(strict)}`);
    if (tensors === null || typeof tensors !== 'object') {
      throw typeError(`${where}: tensors must be an object of name -> tensor, got ${describe(tensors)}`);
    }
    const known = new Set(this.slots.map((s) => s.name));
    const missingKeys = this.slots.filter((s) => !Object.hasOwn(tensors, s.name)).map((s) => s.name);
    const unexpectedKeys = Object.keys(tensors).filter((k) => !known.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected ${unexpectedKeys.join(', ')}`);
      throw rangeError(`${where}: state dict does not match this ${this.constructor.name}: ${parts.join('; ')}`,
        'ERR_LSTM_STATE_DICT');
    }
    const updates: [ParamSlot, Float32Array][] = [];
    for (const s of this.slots) {
      if (!Object.hasOwn(tensors, s.name)) continue;
      const t = tensors[s.name];
      const v = t && typeof t === 'object' && t.data instanceof Float64Array ? { data: Float32Array.from(t.data), shape: t.shape } : t;
      updates.push([s, checkTensor(where, s.name, v, s.shape, Float32Array).data]);
    }
    for (const [s, data] of updates) this.values.set(data, s.offset);
    if (updates.length > 0) this.block.touch();
    return { missingKeys, unexpectedKeys };
  }
}
