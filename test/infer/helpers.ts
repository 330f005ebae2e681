/** Small models and a plain per-sequence reference for the inference tests. */
import { Embedding, Linear, LSTM, Sequential, type Tensor } from '../../lib/index.js';

/** Features (I 3) -> LSTM(8, 2 layers) -> Linear(2), batch-first. */
export function featureModel(seed = 1, returnSequences = true): Sequential {
  return new Sequential({
    lstm: new LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, batchFirst: true, returnSequences }),
    head: new Linear({ inFeatures: 8, outFeatures: 2 }),
  }, { seed }).eval();
}

/** Tokens (V 11) -> Embedding(6) -> LSTM(10) -> Linear(11). */
export function tokenModel(seed = 2): Sequential {
  return new Sequential({
    embed: new Embedding({ numEmbeddings: 11, embeddingDim: 6 }),
    lstm: new LSTM({ inputSize: 6, hiddenSize: 10, batchFirst: true }),
    head: new Linear({ inFeatures: 10, outFeatures: 11 }),
  }, { seed }).eval();
}

/** Every step's output of one sequence through model.forward (batch of one, batch-first): (T, F). */
export function referenceSteps(model: Sequential, seq: number[][] | number[]): Float32Array {
  const T = seq.length;
  const x: Tensor<any> = typeof seq[0] === 'number'
    ? { data: Int32Array.from(seq as number[]), shape: [1, T] }
    : { data: Float32Array.from((seq as number[][]).flat()), shape: [1, T, (seq[0] as number[]).length] };
  return model.forward(x, { noGrad: true }).data;
}

/** A deterministic generator in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random feature sequence of T steps of I values in [-1, 1). */
export function randomSeq(next: () => number, T: number, I = 3): number[][] {
  return Array.from({ length: T }, () => Array.from({ length: I }, () => next() * 2 - 1));
}

/** Largest |a - b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
