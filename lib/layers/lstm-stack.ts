/**
 * The engine under the public LSTM: layers stacked, both directions, over time-major flat arrays
 * of one float type (float32 for users, float64 for gradient checks). It works on views of its
 * model's parameter block (parameters.ts: the block owns the busy state and the version) and owns
 * the per layer-direction workspaces and what backward needs from the last forward, (T, B)
 * included; every layer-direction is one native call (native/kernel/lstm.h). Argument checking is
 * the caller's job (lstm.ts); the native binding re-checks every length anyway.
 * Package-internal.
 */
import { markAsUntransferable } from 'node:worker_threads';
import { loadNative, lstmWorkspaceSize, type FloatArray, type NativeLstmBackward, type NativeLstmForward } from '../binding.js';
import { rangeError } from '../errors.js';
import { ParamBlock, type BusyLease } from '../parameters.js';
import { dropoutMask, type Random } from '../random.js';
import { uninitialized, type FloatArrayClass } from '../uninitialized.js';
import { lstmLayout, type LayerDirSlots, type LstmLayout, type LstmShapeConfig } from './lstm-layout.js';
import { SavedActivations } from './saved.js';

/** Time-major results of a forward: y (T, B, D*Hout), hn (L*D, B, Hout), cn (L*D, B, H). */
export interface StackForwardResult<A extends FloatArray> { y: A; hn: A; cn: A }
/** Arrays a forward writes its results into instead of new ones (each of exactly the result's size). */
export interface StackOutputs<A extends FloatArray> { y?: A; hn?: A; cn?: A }
/** Gradients of the inputs: dx (T, B, I; null when not asked for), dh0 (L*D, B, Hout), dc0 (L*D, B, H). */
export interface StackBackwardResult<A extends FloatArray> { dx: A | null; dh0: A; dc0: A }

interface Saved<A extends FloatArray> {
  T: number;
  B: number;
  lengths: Int32Array | null;
  /** Input of each layer: the caller's x (copied) for layer 0, the previous layer's y (after dropout) after. */
  inputs: A[];
  /** Dropout mask applied to layer l's output before layer l+1 (null when no dropout ran). */
  masks: (A | null)[];
}

/** A step of a plan: one native layer-direction call, or JS work between layers (dropout). */
type Step<C> = C | (() => void);

/**
 * A native error names the native entry point (`lstmForwardAsync: h0 ...`); the caller sees the
 * name of the call it made (`lstm.forwardAsync: h0 ...`) instead. Class, code and cause are kept.
 */
function asCallersError(e: unknown, where: string): unknown {
  if (e instanceof Error) {
    const native = /^lstm(Forward|Backward|WorkspaceSize)(Async)?: /.exec(e.message)?.[0];
    if (native !== undefined) {
      const message = `${where}: ${e.message.slice(native.length)}`;
      if (typeof e.stack === 'string') e.stack = e.stack.replace(e.message, message);
      e.message = message;
    }
  }
  return e;
}

/** The arrays an LstmStack works on: its parameters and gradients, views of `block`. */
export interface StackStorage<A extends FloatArray> {
  params: A;
  grads: A;
  block: ParamBlock<A>;
}

export class LstmStack<A extends FloatArray> {
  readonly layout: LstmLayout;
  /** Every parameter in the layout's order (may be a view of a larger model block). */
  params: A;
  /** The gradients, same layout; backward adds into them. */
  grads: A;
  /** The block params and grads are views of: its busy state and version guard every call. */
  block: ParamBlock<A>;
  readonly D: number;
  readonly Hout: number;
  private readonly workspaces: (A | null)[];
  /** Smaller workspaces for forwards that keep nothing for backward (noGrad). */
  private readonly inferenceWorkspaces: (A | null)[];
  /**
   * Arrays that live for one call or until the next forward, reused from call to call and grown,
   * never shrunk, as the workspaces are (see scratch()). A fresh array per call costs a page fault
   * per 4 KiB written: glibc hands freed heap back to the system (counts in bench/RESULTS.md).
   */
  private readonly scratchBuffers = new Map<string, A>();
  private readonly saved = new SavedActivations<Saved<A>>();
  /** Dropout probability between layers, applied when `training` and `rng` are set. */
  dropout = 0;
  training = true;
  rng: Random | null = null;

  /** `storage`, when given, is used for params and grads (each of layout.size elements); else a block of its own. */
  constructor(readonly cfg: LstmShapeConfig, private readonly Ctor: FloatArrayClass<A>, storage?: StackStorage<A>) {
    this.layout = lstmLayout(cfg);
    this.block = storage?.block ?? ParamBlock.allocate(Ctor, this.layout.size, 'lstm');
    this.params = storage?.params ?? this.block.values;
    this.grads = storage?.grads ?? this.block.grads;
    this.D = cfg.bidirectional ? 2 : 1;
    this.Hout = cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize;
    this.workspaces = this.layout.layerDirs.map(() => null);
    this.inferenceWorkspaces = this.layout.layerDirs.map(() => null);
  }

  /** Points the stack at other parameter and gradient arrays of the same layout (the caller checked it is idle). */
  bind(storage: StackStorage<A>): void {
    this.params = storage.params;
    this.grads = storage.grads;
    this.block = storage.block;
  }

  /** Throws ERR_LSTM_BUSY while an async call runs on the block (unless under the caller's `lease`). */
  assertIdle(where: string, lease?: BusyLease): void {
    this.block.assertIdle(where, lease);
  }

  /** Allocates n elements, turning the engine's refusal into a coded RangeError naming the call. */
  private allocate(n: number, where: string, what: string): A {
    try {
      return new this.Ctor(n);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw Object.assign(rangeError(`${where}: cannot allocate the ${what} (${n} elements): ${e.message}; use a smaller batch or shorter sequences`),
        { cause: e });
    }
  }

  private view(slot: { offset: number; size: number }, buf: A): A {
    return buf.subarray(slot.offset, slot.offset + slot.size) as A;
  }

  /**
   * Elements of the layer-direction's workspace for (T, B). Dims the kernel cannot index (a buffer
   * of 2^31 elements or more) are a RangeError naming the caller's call, before anything is allocated.
   */
  private workspaceSize(ld: LayerDirSlots, T: number, B: number, training: boolean, where: string): number {
    try {
      return lstmWorkspaceSize({ T, B, I: ld.inputSize, H: this.cfg.hiddenSize, P: this.cfg.projSize, training });
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw Object.assign(rangeError(`${where}: a batch of ${B} sequences of ${T} steps is too large for the kernel ` +
        `(with hiddenSize ${this.cfg.hiddenSize}, every buffer must have fewer than 2^31 elements): split the batch ` +
        'or the sequences', 'ERR_LSTM_SHAPE'), { cause: e });
    }
  }

  /** The workspace size of every layer-direction for (T, B) (lib/binding.ts asks the kernel once per shape). */
  private workspaceSizes(T: number, B: number, training: boolean, where: string): number[] {
    return this.layout.layerDirs.map((ld) => this.workspaceSize(ld, T, B, training, where));
  }

  /** The layer-direction's workspace of `need` elements, grown (never shrunk). */
  private workspace(i: number, need: number, training: boolean, where: string): A {
    const cache = training ? this.workspaces : this.inferenceWorkspaces;
    const ws = cache[i];
    if (ws && ws.length >= need) return ws;
    const grown = this.allocate(need, where, 'workspace');
    cache[i] = grown;
    return grown;
  }

  /**
   * The stack's reused array `name`, a view of n elements; contents unspecified. The names and how long each one's contents live:
   * - `input`: layer 0's input, the caller's x copied or reordered here; kept for backward until the next forward;
   * - `y<l>`: the output of layer l < L-1 in a forward that keeps activations; until the next forward;
   * - `between<k>`: the outputs of the layers but the last in a noGrad forward, two alternating (a
   *   layer never writes what it reads); during the call;
   * - `drop<l>`, `mask<l>`: layer l's dropped output and its dropout mask; until the next forward;
   * - `output`: the last layer's time-major output when the caller reorders it (batchFirst); until
   *   the caller has copied it;
   * - `dIn<k>`: the gradient of a layer's input between layers of a backward, two alternating;
   *   during the call;
   * - `dy`, `dx`: time-major upstream gradient and input gradient the caller reorders; during the call.
   * Every forward and backward checks the block is idle before it writes any of them, so an async
   * call in flight never sees its arrays change.
   */
  scratch(name: string, n: number, where: string): A {
    let buf = this.scratchBuffers.get(name);
    if (!buf || buf.length < n) {
      buf = this.allocate(n, where, `${name} buffer`);
      // Async calls read some of these in place (xOwned, dyOwned): never detached by a transfer.
      markAsUntransferable(buf.buffer);
      this.scratchBuffers.set(name, buf);
    }
    return buf.subarray(0, n) as A;
  }

  /**
   * The `input` scratch, n long, for a caller that reorders x into it before forward (batchFirst).
   * The last forward's activations may read it, so they are discarded first; the caller checked
   * the block is idle.
   */
  inputBuffer(n: number, where: string): A {
    this.saved.clear();
    return this.scratch('input', n, where);
  }

  /** Whether `a` is a view of the scratch array `name` (starting at its first element). */
  isScratch(name: string, a: A): boolean {
    const buf = this.scratchBuffers.get(name);
    return buf !== undefined && a.buffer === buf.buffer && a.byteOffset === buf.byteOffset;
  }

  /** A copy of `src` in the scratch array `name`. */
  private copyInto(name: string, src: A, where: string): A {
    const dst = this.scratch(name, src.length, where);
    dst.set(src);
    return dst;
  }

  /**
   * Prepares every native call of a forward; the outputs are allocated here, or taken from `out`
   * (time-major y, hn, cn of exactly the result's sizes, checked by the caller).
   */
  private planForward(x: A, T: number, B: number, h0: A | null, c0: A | null, lengths: Int32Array | null, grad: boolean,
    copyInput: boolean, where: string, out: StackOutputs<A>):
    { calls: Step<NativeLstmForward>[]; result: StackForwardResult<A>; saved: Saved<A> } {
    const { hiddenSize: H, projSize: P, numLayers: L } = this.cfg;
    const { D, Hout } = this;
    // Every size is checked before the first allocation.
    const needs = this.workspaceSizes(T, B, grad, where);
    // Written in full by the kernel (see y below): no zeroing (uninitialized.ts).
    const hn = out.hn ?? uninitialized(this.Ctor, L * D * B * Hout);
    const cn = out.cn ?? uninitialized(this.Ctor, L * D * B * H);
    // A copy when backward will read layer 0's input again; a forward without grad reads x only
    // while it runs (an async call copies what it reads: lib/binding.ts). x may be the `input`
    // scratch already (the caller reordered into it): nothing to copy then.
    const inputs: A[] = [copyInput && !this.isScratch('input', x) ? this.copyInto('input', x, where) : x];
    const masks: (A | null)[] = [];
    const calls: Step<NativeLstmForward>[] = [];
    const drop = this.training && this.dropout > 0 && this.rng !== null;
    let y = inputs[0]!;
    for (let layer = 0; layer < L; layer++) {
      if (layer > 0 && drop) {
        // The previous layer's output, dropped, is this layer's input (PyTorch's dropout between layers).
        const prev = y;
        const dropped = this.scratch(`drop${layer}`, prev.length, where);
        const mask = this.scratch(`mask${layer}`, prev.length, where);
        dropoutMask(mask, this.dropout, this.rng!);
        masks.push(mask);
        inputs.push(dropped);
        calls.push(() => { for (let i = 0; i < prev.length; i++) dropped[i] = prev[i]! * mask[i]!; });
      } else if (layer > 0) {
        masks.push(null);
        inputs.push(y);
      }
      // Every element of y is written by the kernel (rows past a sequence's length as zeros), so a
      // reused buffer needs no clearing and a new one no zeroing.
      const n = T * B * D * Hout;
      y = layer < L - 1 ? this.scratch(grad ? `y${layer}` : `between${layer % 2}`, n, where)
        : out.y ?? uninitialized(this.Ctor, n);
      for (let dir = 0; dir < D; dir++) {
        const i = layer * D + dir;
        const ld = this.layout.layerDirs[i]!;
        calls.push({
          T, B, I: ld.inputSize, H, P, reverse: ld.reverse,
          wIh: this.view(ld.wIh, this.params), wHh: this.view(ld.wHh, this.params),
          bIh: this.view(ld.bIh, this.params), bHh: this.view(ld.bHh, this.params),
          wHr: ld.wHr ? this.view(ld.wHr, this.params) : null,
          x: inputs[layer]!, lengths,
          h0: h0 ? h0.subarray(i * B * Hout, (i + 1) * B * Hout) : null,
          c0: c0 ? c0.subarray(i * B * H, (i + 1) * B * H) : null,
          y, yOffset: dir * Hout, ldy: D * Hout,
          hn: hn.subarray(i * B * Hout, (i + 1) * B * Hout), cn: cn.subarray(i * B * H, (i + 1) * B * H),
          workspace: this.workspace(i, needs[i]!, grad, where),
          training: grad,
          xOwned: inputs[layer] !== x || this.isScratch('input', x),
        });
      }
    }
    return { calls, result: { y, hn, cn }, saved: { T, B, lengths: lengths ? lengths.slice() : null, inputs, masks } };
  }

  /** Prepares every native call of a backward, top layer first; gradient outputs allocated here. */
  private planBackward(dy: A | null, dhn: A | null, dcn: A | null, where: string, inputGrad: boolean, retain: boolean,
    dxScratch: boolean): { calls: Step<NativeLstmBackward>[]; result: StackBackwardResult<A> } {
    const { T, B, lengths, inputs, masks } = this.saved.check(where, this.block);
    const { hiddenSize: H, projSize: P, numLayers: L } = this.cfg;
    const { D, Hout } = this;
    const dh0 = new this.Ctor(L * D * B * Hout);
    const dc0 = new this.Ctor(L * D * B * H);
    const calls: Step<NativeLstmBackward>[] = [];
    let dOut: A | null = dy;
    let dx: A | null = null;
    for (let layer = L - 1; layer >= 0; layer--) {
      // Both directions of this layer add into the gradient of its input. The first layer's input
      // gradient is skipped when not wanted: one GEMM of the size of the hoisted input product.
      // The kernel adds into it: a scratch array is zeroed right before the layer runs (with more
      // than two layers, the two alternating ones are written more than once per backward).
      const dIn = layer > 0 ? this.scratch(`dIn${layer % 2}`, T * B * D * Hout, where)
        : !inputGrad ? null
        : dxScratch ? this.scratch('dx', T * B * this.cfg.inputSize, where) : new this.Ctor(T * B * this.cfg.inputSize);
      if (dIn && (layer > 0 || dxScratch)) calls.push(() => { dIn.fill(0); });
      if (layer === 0) dx = dIn;
      for (let dir = 0; dir < D; dir++) {
        const i = layer * D + dir;
        const ld = this.layout.layerDirs[i]!;
        calls.push({
          T, B, I: ld.inputSize, H, P, reverse: ld.reverse,
          wIh: this.view(ld.wIh, this.params), wHh: this.view(ld.wHh, this.params),
          bIh: this.view(ld.bIh, this.params), bHh: this.view(ld.bHh, this.params),
          wHr: ld.wHr ? this.view(ld.wHr, this.params) : null,
          x: inputs[layer]!, lengths,
          dy: dOut, dyOffset: dir * Hout, ldy: D * Hout,
          dhn: dhn ? dhn.subarray(i * B * Hout, (i + 1) * B * Hout) : null,
          dcn: dcn ? dcn.subarray(i * B * H, (i + 1) * B * H) : null,
          dx: dIn,
          // The saved inputs are the stack's own; so is dy below the top layer.
          xOwned: true, dyOwned: layer < L - 1,
          dh0: dh0.subarray(i * B * Hout, (i + 1) * B * Hout), dc0: dc0.subarray(i * B * H, (i + 1) * B * H),
          dWIh: this.view(ld.wIh, this.grads), dWHh: this.view(ld.wHh, this.grads),
          dBIh: this.view(ld.bIh, this.grads), dBHh: this.view(ld.bHh, this.grads),
          dWHr: ld.wHr ? this.view(ld.wHr, this.grads) : null,
          workspace: this.workspaces[i]!,
        });
      }
      const mask = layer > 0 ? masks[layer - 1] : null;
      if (mask && dIn) calls.push(() => { for (let i = 0; i < dIn.length; i++) dIn[i] = dIn[i]! * mask[i]!; });
      dOut = dIn;
    }
    // Consumed once every check passed and every output exists: a failed plan leaves it usable.
    this.saved.take(where, this.block, retain);
    return { calls, result: { dx, dh0, dc0 } };
  }

  /**
   * Forward over time-major x (T, B, I); h0/c0 (L*D, B, ·) and lengths (B) optional. With
   * grad = false nothing is kept for backward (a smaller workspace, no copies).
   */
  forward(x: A, T: number, B: number, h0: A | null, c0: A | null, lengths: Int32Array | null,
    where = 'lstm.forward', grad = true, lease?: BusyLease, out: StackOutputs<A> = {}): StackForwardResult<A> {
    this.assertIdle(where, lease);
    // Planning may overwrite the `input` scratch the last forward's activations read: they go first.
    this.saved.clear();
    const plan = this.planForward(x, T, B, h0, c0, lengths, grad, grad, where, out);
    const native = loadNative();
    const version = this.block.version;
    try {
      for (const call of plan.calls) if (typeof call === 'function') call(); else native.lstmForward(call);
    } catch (e) {
      throw asCallersError(e, where);
    }
    if (grad) this.saved.keep(plan.saved, version);
    return plan.result;
  }

  /**
   * As forward, off the main thread. The block is busy until the promise settles: under the
   * caller's `lease` when given (a caller holding the block across several calls), else its own.
   */
  async forwardAsync(x: A, T: number, B: number, h0: A | null, c0: A | null, lengths: Int32Array | null,
    where = 'lstm.forwardAsync', grad = true, lease?: BusyLease, out: StackOutputs<A> = {}): Promise<StackForwardResult<A>> {
    this.assertIdle(where, lease);
    // Each native call copies what it reads, but the two directions of layer 0 are two calls with
    // an await between them: the caller's x must be copied once, here, for the second to see it.
    this.saved.clear();
    const plan = this.planForward(x, T, B, h0, c0, lengths, grad, grad || this.D > 1, where, out);
    const native = loadNative();
    const version = this.block.version;
    const own = lease ?? this.block.acquire(where);
    try {
      for (const call of plan.calls) if (typeof call === 'function') call(); else await native.lstmForwardAsync(call);
    } catch (e) {
      throw asCallersError(e, where);
    } finally {
      if (own !== lease) own.release();
    }
    if (grad) this.saved.keep(plan.saved, version);
    return plan.result;
  }

  /**
   * BPTT for the last forward; parameter gradients accumulate into `grads`. With inputGrad = false
   * the gradient of x is not computed (dx null). The forward's activations are consumed unless
   * `retain` (a second backward then throws ERR_LSTM_STATE); a backward after the block's version
   * changed throws ERR_LSTM_STATE before any gradient changes.
   */
  backward(dy: A | null, dhn: A | null, dcn: A | null, where = 'lstm.backward', inputGrad = true, retain = false,
    lease?: BusyLease, dxScratch = false): StackBackwardResult<A> {
    this.assertIdle(where, lease);
    const plan = this.planBackward(dy, dhn, dcn, where, inputGrad, retain, dxScratch);
    const native = loadNative();
    try {
      for (const call of plan.calls) if (typeof call === 'function') call(); else native.lstmBackward(call);
    } catch (e) {
      throw asCallersError(e, where);
    }
    return plan.result;
  }

  /** As backward, off the main thread; the block is busy until the promise settles (see forwardAsync). */
  async backwardAsync(dy: A | null, dhn: A | null, dcn: A | null, where = 'lstm.backwardAsync', inputGrad = true,
    retain = false, lease?: BusyLease, dxScratch = false): Promise<StackBackwardResult<A>> {
    this.assertIdle(where, lease);
    const plan = this.planBackward(dy, dhn, dcn, where, inputGrad, retain, dxScratch);
    const native = loadNative();
    const own = lease ?? this.block.acquire(where);
    try {
      for (const call of plan.calls) if (typeof call === 'function') call(); else await native.lstmBackwardAsync(call);
    } catch (e) {
      throw asCallersError(e, where);
    } finally {
      if (own !== lease) own.release();
    }
    return plan.result;
  }

  /**
   * Throws ERR_LSTM_STATE as backward would (no forward kept anything, a backward consumed it, or the
   * parameters changed since); else returns the (T, B) of the last forward.
   */
  checkBackward(where: string): { T: number; B: number } {
    const { T, B } = this.saved.check(where, this.block);
    return { T, B };
  }
}
