/**
 * Runs a model's forward and backward for training off the main thread, one layer at a time: every
 * LSTM through its forwardAsync/backwardAsync (each layer-direction is one native call on libuv's
 * pool), the light layers (Linear, Embedding, Dropout) in place. Each LSTM can start from a given
 * (h, c) and reports its final one, which truncated BPTT carries into the next chunk.
 *
 * Why per-step native async rather than a worker thread that owns the model: the parameters live
 * in one Float32Array that the optimizer, the schedule, callbacks and checkpoints read and write on
 * the main thread; a worker would need that block shared (SharedArrayBuffer, which the layers do
 * not allocate) or copied back at every point where user code may look at the model. With native
 * async calls only the heavy products leave the thread, the model object stays the one the user
 * holds, and between two awaits it is always consistent. What stays on the main thread per step
 * (layout copies, the head's products, the loss, the optimizer pass) is a few milliseconds at most
 * for the sizes this is meant for.
 * @internal
 */
import { LstmError } from '../errors.js';
import { LSTM } from '../layers/lstm.js';
import type { Module, RecurrentState } from '../layers/module.js';
import type { BusyLease } from '../parameters.js';
import type { Tensor, TensorData } from '../tensor.js';

/** What {@link ChainRunner.forward} returns. */
export interface ChainOutput {
  output: Tensor;
  /** The final (h, c) of every LSTM in chain order. */
  states: RecurrentState[];
}

/** Options of {@link ChainRunner.forward}. */
export interface ChainForwardOptions {
  lengths?: Int32Array | null;
  /** The initial (h, c) of every LSTM in chain order; zeros when omitted. */
  initial?: RecurrentState[] | null;
  /** Keep nothing for backward. */
  noGrad?: boolean;
  /** The lease the caller holds the model's block under. */
  lease?: BusyLease;
}

/**
 * Lets due timers and I/O run before the next stretch of main-thread work. A native completion
 * resumes JS in libuv's poll phase and a first setImmediate still lands in that same loop
 * iteration (check phase); the second lands in the next one, after its timers phase. No fixed
 * delay, unlike setTimeout(0).
 */
export async function yieldToEventLoop(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ChainRunner {
  readonly lstms: LSTM[];
  private ran = false;

  constructor(private readonly model: Module) {
    this.lstms = model.chainLayers().filter((l): l is LSTM => l instanceof LSTM);
  }

  /** Forward through every layer; the LSTMs run off the main thread. */
  async forward(x: Tensor<TensorData>, options: ChainForwardOptions = {}): Promise<ChainOutput> {
    const { lengths = null, initial = null, noGrad = false, lease } = options;
    const final = new Map<Module, RecurrentState>();
    const init = initial ? new Map<Module, RecurrentState>(this.lstms.map((l, i) => [l, initial[i]!])) : undefined;
    const output = await this.model.forwardChainAsync(x, { lengths, noGrad, final, lease, ...(init ? { initial: init } : {}) });
    this.ran = !noGrad;
    return { output, states: this.lstms.map((l) => final.get(l)!) };
  }

  /**
   * Backward of the last forward from the gradient of its output; parameter gradients accumulate.
   * The gradient into carried state is cut (truncated BPTT), and the model input gets none.
   */
  async backward(grad: Tensor, lease?: BusyLease): Promise<void> {
    if (!this.ran) throw new LstmError('fit: backward without a training forward', 'ERR_LSTM_STATE');
    this.ran = false;
    await yieldToEventLoop();
    await this.model.backwardChainAsync(grad, { inputGrad: false, retain: false, lease });
  }
}
