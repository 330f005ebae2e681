/**
 * A character language model trained with truncated BPTT, for `lstm demo`: B parallel streams cut
 * from the training text (char-rnn's batching), (h, c) carried from chunk to chunk with the gradient
 * cut between them, Adam, gradient-norm clipping, validation bits per character. Each LSTM forward
 * and backward runs off the main thread, so the progress bar keeps drawing.
 *
 * This is the demo's training loop until `model.fit({ tokens }, { tbptt })` (issue 20) is on main;
 * then the demo calls fit and this file goes.
 */
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import { Sequential } from '../layers/sequential.js';
import { crossEntropy } from '../losses.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import type { Tensor } from '../tensor.js';

export interface CharCorpus {
  vocab: string[];
  train: Int32Array;
  valid: Int32Array;
}

/** Sorted character vocabulary; first 90% of the text for training, the last 10% for validation. */
export function charCorpus(text: string): CharCorpus {
  const vocab = [...new Set(Array.from(text))].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  const ids = Int32Array.from(Array.from(text), (c) => index.get(c)!);
  const cut = Math.floor(ids.length * 0.9);
  return { vocab, train: ids.subarray(0, cut), valid: ids.subarray(cut) };
}

export interface CharModelConfig { vocabSize: number; embeddingDim: number; hiddenSize: number; numLayers: number; seed: number }

export function charModel(c: CharModelConfig): Sequential {
  return new Sequential({
    embed: new Embedding({ numEmbeddings: c.vocabSize, embeddingDim: c.embeddingDim }),
    lstm: new LSTM({ inputSize: c.embeddingDim, hiddenSize: c.hiddenSize, numLayers: c.numLayers, batchFirst: true }),
    head: new Linear({ inFeatures: c.hiddenSize, outFeatures: c.vocabSize }),
  }, { seed: c.seed });
}

/** The three layers of a char model, for the hand-run forward/backward. */
function parts(model: Sequential): { embed: Embedding; lstm: LSTM; head: Linear } {
  const byName = Object.fromEntries(model.layers);
  return { embed: byName.embed as Embedding, lstm: byName.lstm as LSTM, head: byName.head as Linear };
}

/** (B, T) inputs and targets of chunk `k`: stream b reads ids[b * span + k * T ...]. */
function chunk(ids: Int32Array, B: number, T: number, k: number): { x: Int32Array; y: Int32Array } {
  const span = Math.floor((ids.length - 1) / B);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const from = b * span + k * T;
    x.set(ids.subarray(from, from + T), b * T);
    y.set(ids.subarray(from + 1, from + T + 1), b * T);
  }
  return { x, y };
}

/** Mean cross-entropy (nats per character) of the model on `ids`, B streams, chunks of T, off the main thread. */
export async function evaluate(model: Sequential, ids: Int32Array, B = 32, T = 200): Promise<number> {
  const { embed, lstm, head } = parts(model);
  const chunks = Math.floor((Math.floor((ids.length - 1) / B)) / T);
  let h: Tensor | undefined;
  let c: Tensor | undefined;
  let total = 0;
  for (let k = 0; k < chunks; k++) {
    const { x, y } = chunk(ids, B, T, k);
    const e = embed.forward({ data: x, shape: [B, T] });
    const out = await lstm.forwardAsync(e, { noGrad: true, ...(h && c ? { h0: h, c0: c } : {}) });
    h = out.h;
    c = out.c;
    const logits = head.forward(out.output);
    total += crossEntropy({ data: logits.data, shape: [B * T, logits.shape[2]!] }, { data: y, shape: [B * T] }).loss;
  }
  return total / Math.max(chunks, 1);
}

export interface TrainProgress { step: number; loss: number; charsPerSec: number; seconds: number }

/** Trains until `seconds` have passed (or `signal` aborts); calls onStep after every step. */
export async function trainChars(model: Sequential, corpus: CharCorpus, o: {
  seconds: number; batchSize: number; seqLen: number; lr: number; clip: number;
  onStep: (p: TrainProgress) => void | Promise<void>; signal?: AbortSignal;
}): Promise<{ steps: number; chars: number; seconds: number }> {
  const { embed, lstm, head } = parts(model);
  const { batchSize: B, seqLen: T } = o;
  const opt = new Adam(model.parameters(), { lr: o.lr });
  const chunksPerEpoch = Math.floor(Math.floor((corpus.train.length - 1) / B) / T);
  const params = model.parameters();
  let h: Tensor | undefined;
  let c: Tensor | undefined;
  let step = 0;
  const started = performance.now();
  model.train();
  while ((performance.now() - started) / 1000 < o.seconds && !o.signal?.aborted) {
    const k = step % chunksPerEpoch;
    if (k === 0) { h = undefined; c = undefined; }
    const { x, y } = chunk(corpus.train, B, T, k);
    const e = embed.forward({ data: x, shape: [B, T] });
    const out = await lstm.forwardAsync(e, h && c ? { h0: h, c0: c } : {});
    const logits = head.forward(out.output);
    const V = logits.shape[2]!;
    const { loss, grad } = crossEntropy({ data: logits.data, shape: [B * T, V] }, { data: y, shape: [B * T] });
    model.zeroGrad();
    const dOut = head.backward({ data: grad.data, shape: [B, T, V] });
    const g = await lstm.backwardAsync({ output: dOut });
    embed.backward(g.x);
    clipGradNorm(params, o.clip);
    opt.step();
    // Carried to the next chunk as values: the gradient stops here (truncated BPTT).
    h = out.h;
    c = out.c;
    step++;
    const seconds = (performance.now() - started) / 1000;
    await o.onStep({ step, loss, charsPerSec: (step * B * T) / seconds, seconds });
  }
  model.eval();
  return { steps: step, chars: step * B * T, seconds: (performance.now() - started) / 1000 };
}
