/**
 * The character language model of `lstm demo`: the corpus (sorted character vocabulary, first 90%
 * of the text for training, the last 10% for validation), the model, validation in bits per
 * character with state carried across chunks, and a time-boxed `model.fit` with truncated BPTT.
 */
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import { Sequential } from '../layers/sequential.js';
import { crossEntropy } from '../losses.js';
import { Adam } from '../optim/adam.js';
import type { Tensor } from '../tensor.js';
import { AbortError } from '../train/abort.js';

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

/**
 * Mean cross-entropy (nats per character) of the next character on `ids`: B streams read in chunks
 * of T with (h, c) carried from chunk to chunk, each forward off the main thread.
 */
export async function evaluate(model: Sequential, ids: Int32Array, B = 32, T = 200): Promise<number> {
  const span = Math.floor((ids.length - 1) / B);
  const chunks = Math.floor(span / T);
  let state: Record<string, { h: Tensor; c: Tensor }> | undefined;
  let total = 0;
  for (let k = 0; k < chunks; k++) {
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      x.set(ids.subarray(b * span + k * T, b * span + (k + 1) * T), b * T);
      y.set(ids.subarray(b * span + k * T + 1, b * span + (k + 1) * T + 1), b * T);
    }
    const out = await model.forwardWithStateAsync({ data: x, shape: [B, T] }, { noGrad: true, ...(state ? { state } : {}) });
    state = out.state as typeof state;
    const V = out.output.shape[2]!;
    total += crossEntropy({ data: out.output.data, shape: [B * T, V] }, { data: y, shape: [B * T] }).loss;
  }
  return total / Math.max(chunks, 1);
}

export interface TrainProgress { step: number; loss: number; charsPerSec: number; seconds: number }

/**
 * Trains with `model.fit` (truncated BPTT over the training text, B streams, chunks of seqLen,
 * Adam, gradient-norm clipping) until `seconds` have passed or `signal` aborts; calls onStep after
 * every step. The model keeps what it learned when the time is up.
 */
export async function trainChars(model: Sequential, corpus: CharCorpus, o: {
  seconds: number; batchSize: number; seqLen: number; lr: number; clip: number;
  onStep: (p: TrainProgress) => void | Promise<void>; signal?: AbortSignal;
}): Promise<{ steps: number; chars: number; seconds: number }> {
  const timeUp = new AbortController();
  const stop = () => timeUp.abort();
  o.signal?.addEventListener('abort', stop, { once: true });
  const started = performance.now();
  let steps = 0;
  const elapsed = () => (performance.now() - started) / 1000;
  try {
    await model.fit({ tokens: corpus.train }, {
      // More epochs than the time allows: the time budget ends the run.
      epochs: 1000, batchSize: o.batchSize, tbptt: { steps: o.seqLen }, loss: 'crossEntropy',
      optimizer: new Adam(model.parameters(), { lr: o.lr }), clipGradNorm: o.clip, signal: timeUp.signal,
      callbacks: {
        onBatchEnd: async (p) => {
          steps = p.globalStep;
          const seconds = elapsed();
          await o.onStep({ step: p.globalStep, loss: p.loss, charsPerSec: (steps * o.batchSize * o.seqLen) / seconds, seconds });
          if (seconds >= o.seconds) stop();
        },
      },
    });
  } catch (err) {
    if (!(err instanceof AbortError)) throw err;
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
  model.eval();
  return { steps, chars: steps * o.batchSize * o.seqLen, seconds: elapsed() };
}
