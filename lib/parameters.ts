/**
 * A model's parameters as one contiguous Float32Array, its gradients as a second one of the same
 * layout, and the named slots that cut both into tensors. Optimizers, gradient clipping and
 * saving work on the flat arrays in one pass; names and shapes are for people and files.
 * The rules of ownership, busy state and version are stated on {@link Parameters}.
 */
import { markAsUntransferable } from 'node:worker_threads';
import type { FloatArray } from './binding.js';
import { describe, LstmError, rangeError, typeError } from './errors.js';
import type { Tensor } from './tensor.js';

/** One named tensor inside the flat parameter buffer: `size` elements from `offset`, row-major `shape`. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Proof that the caller made a block busy: calls given it may run while the block is busy with it. */
export interface BusyLease {
  /** Ends the busy state (once; later calls do nothing). */
  release(): void;
}

/** Versions are unique across blocks, so a version read from one block never matches another's. */
let lastVersion = 0;

/** Blocks by the ArrayBuffer under their values and gradients, so a view finds its block. */
const blocks = new WeakMap<ArrayBufferLike, ParamBlock<FloatArray>>();

/**
 * The storage of one model's parameters and gradients (same layout, `values.length` each) with its
 * ownership, busy and version state (see the file's comment for the rules). Package-internal.
 */
export class ParamBlock<A extends FloatArray = Float32Array> {
  private busyWith: string | null = null;
  private lease: BusyLease | null = null;
  private retiredInto: string | null = null;
  private ver = ++lastVersion;

  constructor(readonly values: A, readonly grads: A) {
    // The kernel's async calls read the weights and write the gradients in place without copies
    // (native/binding_lstm.cc): a transfer to a worker or structuredClone must copy these buffers,
    // never detach (and free) them under a running call.
    markAsUntransferable(values.buffer);
    markAsUntransferable(grads.buffer);
    blocks.set(values.buffer, this as unknown as ParamBlock<FloatArray>);
    blocks.set(grads.buffer, this as unknown as ParamBlock<FloatArray>);
  }

  /**
   * A block of `size` zeros of `Ctor`'s type; an allocation the engine refuses (too large for a
   * typed array, out of memory) becomes a coded RangeError naming `where`.
   */
  static allocate<A extends FloatArray>(Ctor: new (n: number) => A, size: number, where: string): ParamBlock<A> {
    try {
      return new ParamBlock(new Ctor(size), new Ctor(size));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      const gb = (2 * size * (Ctor === (Float64Array as unknown) ? 8 : 4)) / 2 ** 30;
      throw Object.assign(rangeError(`${where}: cannot allocate ${size} parameters and their gradients ` +
        `(${gb.toFixed(1)} GiB): ${e.message}; use smaller sizes`), { cause: e });
    }
  }

  /** Changes with every write through the API; unique across blocks. */
  get version(): number {
    return this.ver;
  }

  /** What runs on the block, or null when idle. */
  get busy(): string | null {
    return this.busyWith;
  }

  /** Records a write to the values: forwards before it can no longer be backpropagated. */
  touch(): void {
    this.ver = ++lastVersion;
  }

  /** Throws ERR_LSTM_BUSY while an async call runs on the block (unless `lease` is the one it runs under). */
  assertIdle(where: string, lease?: BusyLease): void {
    if (this.busyWith !== null && (lease === undefined || lease !== this.lease)) {
      throw new LstmError(`${where}: this model is busy with ${this.busyWith}; await it before calling again`, 'ERR_LSTM_BUSY');
    }
  }

  /** Throws ERR_LSTM_STATE when a model moved these parameters into another block (no model reads this one). */
  assertLive(where: string): void {
    if (this.retiredInto !== null) {
      throw new LstmError(`${where}: these parameters are stale: their layer was put into ${this.retiredInto}, which ` +
        'now holds the weights the model uses; take parameters() (or namedParameters()) from the model again ' +
        '(build optimizers after the model)', 'ERR_LSTM_STATE');
    }
  }

  /** Throws unless the block is live and idle: the check before any write through the API. */
  assertWritable(where: string, lease?: BusyLease): void {
    this.assertLive(where);
    this.assertIdle(where, lease);
  }

  /** Marks the block busy with `what` until the returned lease is released. Throws when busy already. */
  acquire(what: string): BusyLease {
    this.assertIdle(what);
    const lease: BusyLease = {
      release: () => {
        if (this.lease !== lease) return;
        this.lease = null;
        this.busyWith = null;
      },
    };
    this.busyWith = what;
    this.lease = lease;
    return lease;
  }

  /** Marks the block as replaced: `into` (e.g. `a Sequential`) now holds its values. */
  retire(into: string): void {
    this.retiredInto = into;
  }
}

/** The block `array` (or a view of it) belongs to, or undefined for arrays no model owns. */
export function blockOf(array: ArrayBufferView): ParamBlock<FloatArray> | undefined {
  return blocks.get(array.buffer);
}

/**
 * What {@link Module.parameters} returns and optimizers take.
 *
 * A model's two arrays are one parameter block, and the block carries the three rules every
 * call that reads or writes parameters relies on (layers, optimizers, clipping, `init.*`, `fit`):
 *
 * - **Ownership.** A layer built alone owns a block. Putting it into a `Sequential` copies its
 *   values into the Sequential's block, points the layer at its part of it and retires the old
 *   block; a layer belongs to one model (a second `new Sequential` with it throws). A `Parameters`
 *   object, or a view from `namedParameters()`, taken before the move still points at the retired
 *   block: every call that would write through it (optimizer `step()`/`zeroGrad()`, `clipGradNorm`,
 *   `clipGradValue`, `init.*`) throws `ERR_LSTM_STATE` instead of changing memory no model reads.
 * - **Busy.** While an async call (`forwardAsync`, `backwardAsync`) runs on any layer of a model,
 *   the model's block is busy: every call that writes its values or gradients, or starts a forward
 *   or backward on one of its layers, throws `ERR_LSTM_BUSY` until the promise settles. Reading
 *   (`stateDict()`, `namedParameters()`, `parameters()`) stays allowed. The async calls read the
 *   weights and write the gradients in place, so writing into the arrays directly meanwhile
 *   changes the result; the arrays' buffers cannot be detached (a transfer with `postMessage` or
 *   `structuredClone` copies them).
 * - **Version.** Every write through the API (optimizer `step()`, `loadStateDict`,
 *   `resetParameters`, `setForgetGateBias`, `init.*` on a view) gives the block a new version. A
 *   forward records the version it ran with, and a backward refuses (`ERR_LSTM_STATE`) when it
 *   changed since, as PyTorch refuses a backward through a tensor modified in place: the saved
 *   activations belong to the old weights. Writing into the arrays directly is not tracked.
 * - **Once.** A backward consumes its forward's activations: a second backward of the same forward
 *   throws `ERR_LSTM_STATE` unless the first was given `retainGraph: true`. A Sequential checks
 *   every layer before its backward changes any gradient, so a refused backward changes nothing.
 */
export class Parameters {
  /**
   * @param values every parameter, back to back (live: writing changes the model)
   * @param grads the gradients, same layout
   * @param slots where each named tensor sits in both
   */
  constructor(readonly values: Float32Array, readonly grads: Float32Array, readonly slots: readonly ParamSlot[]) {}

  /** Number of scalar parameters. */
  get size(): number {
    return this.values.length;
  }

  /**
   * The version of the model's parameter values: it changes with every write through the API
   * (optimizer step, loadStateDict, resetParameters, init functions). 0 for arrays no model owns.
   */
  get version(): number {
    return this.block?.version ?? 0;
  }

  /** The block of the model these parameters belong to, if any. @internal */
  get block(): ParamBlock | undefined {
    return ArrayBuffer.isView(this.values) ? blockOf(this.values) as ParamBlock | undefined : undefined;
  }

  /** Live views of the values by name. */
  named(): Record<string, Tensor> {
    return viewsOf(this.values, this.slots);
  }

  /** Live views of the gradients by name. */
  namedGradients(): Record<string, Tensor> {
    return viewsOf(this.grads, this.slots);
  }
}

/** Views of `buf` cut by `slots`: `{ name: { data: subarray, shape } }`. */
export function viewsOf(buf: Float32Array, slots: readonly ParamSlot[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of slots) out[s.name] = { data: buf.subarray(s.offset, s.offset + s.size), shape: [...s.shape] };
  return out;
}

/**
 * Throws unless `params` is a Parameters with grads of its values' length, non-empty unless
 * `allowEmpty`, and not stale (see the ownership rule above).
 */
export function checkParameters(where: string, params: unknown, allowEmpty = false): asserts params is Parameters {
  if (!(params instanceof Parameters)) {
    throw typeError(`${where}: params must be a Parameters (what model.parameters() returns), got ${describe(params)}`);
  }
  if (!(params.values instanceof Float32Array) || !(params.grads instanceof Float32Array)) {
    throw typeError(`${where}: params.values and params.grads must be Float32Arrays, got ${describe(params.values)} ` +
      `and ${describe(params.grads)}`);
  }
  if (params.grads.length !== params.values.length) {
    throw rangeError(`${where}: params.grads must have ${params.values.length} elements like params.values, got ${params.grads.length}`);
  }
  if (params.values.length === 0 && !allowEmpty) {
    throw rangeError(`${where}: params must hold at least one parameter, got 0`);
  }
  params.block?.assertLive(where);
}
