/**
 * The base of every layer: its parameters live in one Float32Array block (gradients in a second,
 * same layout) cut into named slots with PyTorch's names. A layer alone owns its block; a
 * Sequential allocates one block for all its layers and rebinds each to its part, so a whole
 * model is still two flat arrays. Every layer has an explicit forward and backward (no autograd).
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { Parameters, viewsOf } from '../parameters.js';
import { checkTensor, type Tensor, type TensorData } from '../tensor.js';
import { checkOptions } from '../validate.js';
import type { ParamSlot } from './lstm-layout.js';
import { checkRandomState, type Random, type RandomState } from '../random.js';
import type { LSTMForwardOptions } from './lstm.js';
import type { SaveModelOptions } from '../io/model-file.js';

/** The recurrent state of one LSTM: h (D*L, B, Hout) and c (D*L, B, H), as LSTM.forward's h0/c0 and h/c. */
export interface RecurrentState {
  h: Tensor;
  c: Tensor;
}

/** What flows beside the activations through a Sequential: the sequence lengths, when given (each LSTM checks them). */
export interface ChainState {
  lengths: LSTMForwardOptions['lengths'] | null;
  /** Inference only: layers keep nothing for backward. */
  noGrad?: boolean;
  /** Initial state of an LSTM in the chain, by module; an LSTM not in it starts from zeros. */
  initial?: ReadonlyMap<Module, Partial<RecurrentState>>;
  /** When given, every LSTM in the chain sets its final state here. */
  final?: Map<Module, RecurrentState>;
}

/** What flows beside the gradients through a Sequential's backward (recurrent state). */
export interface ChainGradState {
  /** Gradient of an LSTM's final state, by module; absent parts are zero. */
  final?: ReadonlyMap<Module, Partial<RecurrentState>>;
  /** When given, every LSTM in the chain sets the gradient of its initial state here. */
  initial?: Map<Module, RecurrentState>;
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
  /** This module's parameters (a view into its model's block once inside a Sequential). */
  protected values: Float32Array;
  /** Their gradients, same layout. */
  protected grads: Float32Array;
  /** True in training mode (the default), false after {@link Module.eval}. */
  protected training = true;

  protected constructor(size: number) {
    this.values = new Float32Array(size);
    this.grads = new Float32Array(size);
  }

  /** Parameter slots with local names (`weight`, `weight_ih_l0`, ...) and offsets in this block. */
  abstract get slots(): readonly ParamSlot[];

  /** Name used in error messages: `lstm`, `linear`, ... */
  protected get where(): string {
    return this.constructor.name.toLowerCase();
  }

  /**
   * Moves this module's parameters into `values`/`grads` (views of a larger block), copying the
   * current ones. Called by containers; rebinding keeps every value.
   * @internal
   */
  bindBuffers(values: Float32Array, grads: Float32Array): void {
    if (values.length !== this.values.length || grads.length !== this.grads.length) {
      throw new LstmError(`${this.where}: cannot bind ${values.length} parameters to a module of ${this.values.length}`, 'ERR_LSTM_STATE');
    }
    values.set(this.values);
    grads.set(this.grads);
    this.values = values;
    this.grads = grads;
    this.onBind();
  }

  /** Draws fresh initial parameters (each layer's PyTorch default) from `rng`. */
  abstract resetParameters(rng: Random): void;

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
  /**
   * Backward as a step of a Sequential: the gradient of the input, or null for token inputs. With
   * inputGrad false the caller does not need the input's gradient (a layer may then skip it and
   * return null). @internal
   */
  abstract backwardChain(grad: Tensor, inputGrad?: boolean, carry?: ChainGradState): Tensor | null;

  /**
   * {@link Module.forwardChain} with the heavy work off the main thread; the same bits. Layers
   * with native async work override it; the default runs the synchronous forward. @internal
   */
  forwardChainAsync(x: Tensor<TensorData>, state: ChainState): Promise<Tensor> {
    return Promise.resolve().then(() => this.forwardChain(x, state));
  }

  /** {@link Module.backwardChain} with the heavy work off the main thread; the same bits. @internal */
  backwardChainAsync(grad: Tensor, inputGrad?: boolean, carry?: ChainGradState): Promise<Tensor | null> {
    return Promise.resolve().then(() => this.backwardChain(grad, inputGrad, carry));
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

  /** Called after the buffers moved; layers that cache views refresh them here. */
  protected onBind(): void {}

  /**
   * What holds this module for a long run (`fit`, `predict`), or null. While set, calls that would
   * change its saved activations throw ERR_LSTM_BUSY; reading its parameters (stateDict) still gives
   * a consistent snapshot, since they only change between awaits. @internal
   */
  heldBy: string | null = null;

  /** Throws while an async call or a long run holds the module (layers with async work extend it). @internal */
  assertIdle(where: string): void {
    if (this.heldBy !== null) {
      throw new LstmError(`${where}: this ${this.constructor.name} is busy with ${this.heldBy}; await it before calling again`,
        'ERR_LSTM_BUSY');
    }
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

  /** Sets every gradient to zero. */
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
    // Loaded on use: the file code imports every layer class, which import this one.
    const { saveModel } = await import('../io/model-file.js');
    return saveModel(this, path, options);
  }

  /**
   * Copies parameters in by name (PyTorch names, as readSafetensors returns them). Float64Array
   * data is accepted and rounded to float32. Strict by default: a missing or unexpected key throws
   * RangeError; a wrong shape always does. Nothing changes unless every tensor is valid.
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
    return { missingKeys, unexpectedKeys };
  }
}
