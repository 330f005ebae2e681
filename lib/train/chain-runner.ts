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
import type { Module } from '../layers/module.js';
import type { Tensor, TensorData } from '../tensor.js';

/** The (h, c) of one LSTM: (D*L, B, Hout) and (D*L, B, H). */
export interface LstmState {
  h: Tensor;
  c: Tensor;
}

/** What {@link ChainRunner.forward} returns. */
export interface ChainOutput {
  output: Tensor;
  /** The final (h, c) of every LSTM in chain order. */
  states: LstmState[];
}

/** Options of {@link ChainRunner.forward}. */
export interface ChainForwardOptions {
  lengths?: Int32Array | null;
  /** The initial (h, c) of every LSTM in chain order; zeros when omitted. */
  initial?: LstmState[] | null;
  /** Keep nothing for backward. */
  noGrad?: boolean;
}

export class ChainRunner {
  readonly layers: Module[];
  readonly lstms: LSTM[];
  private ran: { B: number; lastStep: boolean[] } | null = null;

  constructor(model: Module) {
    this.layers = model.chainLayers();
    this.lstms = this.layers.filter((l): l is LSTM => l instanceof LSTM);
  }

  /** Forward through every layer; the LSTMs run off the main thread. */
  async forward(x: Tensor<TensorData>, options: ChainForwardOptions = {}): Promise<ChainOutput> {
    const { lengths = null, initial = null, noGrad = false } = options;
    let flow: Tensor<TensorData> = x;
    const states: LstmState[] = [];
    const lastStep: boolean[] = [];
    let B = 0;
    for (const layer of this.layers) {
      if (layer instanceof LSTM) {
        const init = initial?.[states.length];
        const out = await layer.forwardAsync(flow as Tensor, {
          ...(lengths ? { lengths } : {}), ...(init ? { h0: init.h, c0: init.c } : {}), ...(noGrad ? { noGrad } : {}),
        });
        states.push({ h: out.h, c: out.c });
        B = out.h.shape[1]!;
        lastStep.push(!layer.returnSequences);
        flow = layer.returnSequences ? out.output : lastLayerStates(layer, out.h);
      } else {
        flow = layer.forwardChain(flow, { lengths, noGrad });
        lastStep.push(false);
      }
    }
    this.ran = noGrad ? null : { B, lastStep };
    return { output: flow as Tensor, states };
  }

  /**
   * Backward of the last forward from the gradient of its output; parameter gradients accumulate.
   * The gradient into carried state is cut (truncated BPTT), and the model input gets none.
   */
  async backward(grad: Tensor): Promise<void> {
    const ran = this.ran;
    if (!ran) throw new LstmError('fit: backward without a training forward', 'ERR_LSTM_STATE');
    this.ran = null;
    let g: Tensor | null = grad;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]!;
      if (g === null) throw new LstmError(`fit: layer ${i} has no gradient to pass back (it follows a layer taking token ids)`, 'ERR_LSTM_STATE');
      const inputGrad = i > 0;
      if (layer instanceof LSTM) {
        const grads: { h?: Tensor; output?: Tensor } = ran.lastStep[i] ? { h: scatterLastLayer(layer, g, ran.B) } : { output: g };
        g = (await layer.backwardAsync(grads, { inputGrad })).x;
      } else {
        g = layer.backwardChain(g, inputGrad);
      }
    }
  }
}

/** The last layer's final h of each direction, (B, D*Hout): each sequence's last valid step. */
function lastLayerStates(lstm: LSTM, h: Tensor): Tensor {
  const D = lstm.bidirectional ? 2 : 1;
  const Ho = lstm.outputSize;
  const B = h.shape[1]!;
  const out = new Float32Array(B * D * Ho);
  for (let d = 0; d < D; d++) {
    const src = ((lstm.numLayers - 1) * D + d) * B * Ho;
    for (let b = 0; b < B; b++) out.set(h.data.subarray(src + b * Ho, src + (b + 1) * Ho), (b * D + d) * Ho);
  }
  return { data: out, shape: [B, D * Ho] };
}

/** The inverse of {@link lastLayerStates}: a (B, D*Hout) gradient placed into a zero dh of (D*L, B, Hout). */
function scatterLastLayer(lstm: LSTM, grad: Tensor, B: number): Tensor {
  const D = lstm.bidirectional ? 2 : 1;
  const Ho = lstm.outputSize;
  const S = D * lstm.numLayers;
  const gh = new Float32Array(S * B * Ho);
  for (let d = 0; d < D; d++) {
    const dst = ((lstm.numLayers - 1) * D + d) * B * Ho;
    for (let b = 0; b < B; b++) gh.set(grad.data.subarray((b * D + d) * Ho, (b * D + d + 1) * Ho), dst + b * Ho);
  }
  return { data: gh, shape: [S, B, Ho] };
}
