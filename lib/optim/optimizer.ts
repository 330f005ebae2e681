/**
 * The base of every optimizer. An optimizer updates a model's {@link Parameters} in place from their
 * gradients: one native pass over the flat `values` and `grads` arrays per step, with state
 * buffers (PyTorch's names: `momentum_buffer`, `exp_avg`, ...) of the same layout, allocated once.
 * Options are checked up front (unknown names rejected with a suggestion, invalid values rejected,
 * never clamped); afterwards only `lr` changes, which is what learning-rate schedules drive.
 */
import { describe, rangeError, typeError } from '../errors.js';
import { checkParameters, type Parameters } from '../parameters.js';
import { checkInteger, checkNonNegative, checkPositive } from '../validate.js';

/**
 * A snapshot of an optimizer, as {@link Optimizer.state} returns it and {@link Optimizer.loadState}
 * takes it: plain data (the buffers are copies), ready for a checkpoint.
 */
export interface OptimizerState {
  /** The optimizer's name: `SGD`, `Adam`, `AdamW`, `RMSprop` or `Adagrad`. */
  type: string;
  /** Every option with its defaults filled in, `lr` as it is now (after any schedule). */
  options: Record<string, unknown>;
  /** Steps taken so far. */
  step: number;
  /** Each state buffer by PyTorch's name, a Float32Array of the parameters' size. */
  buffers: Record<string, Float32Array>;
}

/** The option every optimizer has. */
export interface OptimizerConfig {
  /** Learning rate. */
  lr: number;
}

export abstract class Optimizer<C extends OptimizerConfig = OptimizerConfig> {
  /** The parameters this optimizer updates (live: `step()` writes into `params.values`). */
  readonly params: Parameters;
  /** Every option, defaults filled in. @internal */
  protected config: C;
  /** State buffers by PyTorch's name, each of `params.size` elements. @internal */
  protected buffers: Record<string, Float32Array>;
  private steps = 0;

  /**
   * @param params what `model.parameters()` returns; the optimizer keeps it and updates it in place
   * @param options the optimizer's options (camelCase versions of PyTorch's names)
   * @throws TypeError or RangeError for params that are not a non-empty Parameters, an unknown
   *   option or an invalid value.
   */
  protected constructor(params: Parameters, options: unknown) {
    const where = `new ${this.type}`;
    checkParameters(where, params);
    this.params = params;
    this.config = this.resolveOptions(where, options, true);
    this.buffers = {};
    for (const name of this.bufferNames(this.config)) {
      this.buffers[name] = new Float32Array(params.size).fill(this.bufferInit(name, this.config));
    }
  }

  /** The optimizer's name, as in {@link OptimizerState.type}: `SGD`, `Adam`, ... (each optimizer overrides it). */
  get type(): string {
    return 'Optimizer';
  }

  /**
   * Checks options and fills in defaults. `initial` is false when loading a state, where lr may be 0
   * (a schedule can take it there). @internal
   */
  protected abstract resolveOptions(where: string, options: unknown, initial: boolean): C;

  /** The state buffers these options need, in PyTorch's order. @internal */
  protected abstract bufferNames(config: C): string[];

  /** The value a buffer starts at (0 unless overridden). @internal */
  protected bufferInit(_name: string, _config: C): number {
    return 0;
  }

  /** Runs the native update for step number `step` (1 for the first). @internal */
  protected abstract update(step: number): void;

  /** The learning rate the next step uses. */
  get lr(): number {
    return this.config.lr;
  }

  /**
   * Sets the learning rate for the next steps (what schedules do).
   * @throws RangeError unless a finite number >= 0.
   */
  set lr(value: number) {
    this.config.lr = checkNonNegative(`${this.type}.lr`, 'lr', value);
  }

  /** A copy of every option, defaults filled in. */
  get options(): Readonly<C> {
    return structuredClone(this.config);
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Updates every parameter in place from `params.grads` (one native pass) and gives the model's
   * parameters a new version (a backward of a forward before this step is then refused).
   * @throws LstmError ERR_LSTM_BUSY while an async call runs on the model; ERR_LSTM_STATE when the
   *   parameters are stale (their layer was put into a Sequential after this optimizer was built).
   */
  step(): void {
    const block = this.params.block;
    block?.assertWritable(`${this.type}.step`);
    const next = this.steps + 1;
    this.update(next);
    this.steps = next;
    block?.touch();
  }

  /**
   * Sets every gradient to zero.
   * @throws LstmError ERR_LSTM_BUSY while an async call runs on the model; ERR_LSTM_STATE for stale parameters.
   */
  zeroGrad(): void {
    this.params.block?.assertWritable(`${this.type}.zeroGrad`);
    this.params.grads.fill(0);
  }

  /** A snapshot of options, step count and state buffers (copies), for {@link Optimizer.loadState}. */
  state(): OptimizerState {
    const buffers: Record<string, Float32Array> = {};
    for (const [name, buf] of Object.entries(this.buffers)) buffers[name] = buf.slice();
    return { type: this.type, options: structuredClone(this.config) as Record<string, unknown>, step: this.steps, buffers };
  }

  /**
   * Restores a snapshot from {@link Optimizer.state} of the same kind of optimizer over parameters
   * of the same size: options (lr included, as PyTorch's `load_state_dict`), step count and buffers.
   * Strict: the type must match, the options must be valid, the buffers must be exactly the ones
   * those options use, each a Float32Array of `params.size` elements. Nothing changes unless all
   * of it is valid.
   * @throws TypeError or RangeError naming what does not match.
   */
  loadState(state: OptimizerState): void {
    const where = `${this.type}.loadState`;
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw typeError(`${where}: state must be an object { type, options, step, buffers }, got ${describe(state)}`);
    }
    if (state.type !== this.type) {
      throw rangeError(`${where}: state.type must be "${this.type}", got ${describe(state.type)}`, 'ERR_LSTM_STATE');
    }
    if (state.options === null || typeof state.options !== 'object' || Array.isArray(state.options)) {
      throw typeError(`${where}: state.options must be an object, got ${describe(state.options)}`);
    }
    const config = this.resolveOptions(where, state.options, false);
    const step = checkInteger(where, 'state.step', state.step, 0);
    const buffers = state.buffers as unknown;
    if (buffers === null || typeof buffers !== 'object' || Array.isArray(buffers)) {
      throw typeError(`${where}: state.buffers must be an object of name -> Float32Array, got ${describe(buffers)}`);
    }
    const names = this.bufferNames(config);
    const missing = names.filter((n) => !Object.hasOwn(buffers, n));
    const unexpected = Object.keys(buffers).filter((n) => !names.includes(n));
    if (missing.length || unexpected.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.join(', ')}`);
      throw rangeError(`${where}: state.buffers must be exactly [${names.join(', ')}] for these options: ${parts.join('; ')}`,
        'ERR_LSTM_STATE');
    }
    const n = this.params.size;
    for (const name of names) {
      const b = (buffers as Record<string, unknown>)[name];
      if (!(b instanceof Float32Array)) {
        throw typeError(`${where}: state.buffers.${name} must be a Float32Array, got ${describe(b)}`);
      }
      if (b.length !== n) {
        throw rangeError(`${where}: state.buffers.${name} must have ${n} elements (the parameters' size), got ${b.length}`,
          'ERR_LSTM_STATE');
      }
    }
    const next: Record<string, Float32Array> = {};
    for (const name of names) {
      const buf = this.buffers[name] ?? new Float32Array(n);
      buf.set((buffers as Record<string, Float32Array>)[name]!);
      next[name] = buf;
    }
    this.config = config;
    this.steps = step;
    this.buffers = next;
  }
}

/** The learning rate option: > 0 when given by a user, >= 0 in a loaded state. */
export function checkLr(where: string, value: unknown, initial: boolean): number {
  return initial ? checkPositive(where, 'lr', value) : checkNonNegative(where, 'lr', value);
}
