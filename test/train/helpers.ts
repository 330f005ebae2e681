/** Small models and data sets for the training tests, all seeded. */
import { Embedding } from '../../lib/layers/embedding.js';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { Random } from '../../lib/random.js';
import type { Tensor } from '../../lib/tensor.js';

/** LSTM(I -> H) with the last step into Linear(H -> out). */
export function regressor(seed = 1, I = 2, H = 12, out = 1, batchFirst = true): Sequential {
  return new Sequential({
    lstm: new LSTM({ inputSize: I, hiddenSize: H, batchFirst, returnSequences: false }),
    head: new Linear({ inFeatures: H, outFeatures: out }),
  }, { seed });
}

/** Embedding(V, E) -> LSTM(E -> H) every step -> Linear(H -> V). */
export function charModel(seed = 1, V = 7, E = 6, H = 16, batchFirst = true, numLayers = 1): Sequential {
  return new Sequential({
    embed: new Embedding({ numEmbeddings: V, embeddingDim: E }),
    lstm: new LSTM({ inputSize: E, hiddenSize: H, batchFirst, numLayers }),
    head: new Linear({ inFeatures: H, outFeatures: V }),
  }, { seed });
}

/** N ragged sequences (lengths in [minT, maxT]) of I features; the target is the sum of the first feature. */
export function sumTask(N: number, seed = 3, I = 2, minT = 3, maxT = 8): { x: number[][][]; y: number[][] } {
  const rng = new Random(seed);
  const x: number[][][] = [];
  const y: number[][] = [];
  for (let i = 0; i < N; i++) {
    const T = minT + Math.floor(rng.next() * (maxT - minT + 1));
    const seq: number[][] = [];
    let s = 0;
    for (let t = 0; t < T; t++) {
      const step = Array.from({ length: I }, () => rng.next() - 0.5);
      s += step[0]!;
      seq.push(step);
    }
    x.push(seq);
    y.push([s]);
  }
  return { x, y };
}

/** A padded tensor (N, T, I) of random values with all sequences full length. */
export function denseTask(N: number, T: number, I: number, seed = 5): { x: Tensor; y: Tensor } {
  const rng = new Random(seed);
  const x = new Float32Array(N * T * I);
  rng.uniform(x, -1, 1);
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) y[i] = y[i]! + x[(i * T + t) * I]! / T;
  return { x: { data: x, shape: [N, T, I] }, y: { data: y, shape: [N, 1] } };
}

/** A periodic token stream: 0 1 2 ... V-1 0 1 2 ... with a little noise-free structure to learn. */
export function periodicTokens(n: number, V = 7): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 3 + Math.floor(i / V)) % V);
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
