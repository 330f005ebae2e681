/**
 * Batches in the model's layout: sequences padded to the longest in their batch (with `lengths`
 * when any is shorter, so a padded step never changes a result), per-step class targets padded with
 * the ignore index -100, and a row mask for the loss of padded per-step outputs. The sources of one
 * epoch's batches: in-memory samples (shuffled by (seed, epoch)), a token stream cut into parallel
 * streams for truncated BPTT, or the user's async iterable.
 * @internal
 */
import { Random } from '../random.js';
import { uninitialized } from '../uninitialized.js';
import type { Tensor } from '../tensor.js';
import type { ModelInfo } from './model-info.js';
import type { SampleSet } from './samples.js';

/** The class id that marks a padded per-step target (crossEntropy's default ignoreIndex). */
export const IGNORE_INDEX = -100;

export interface TrainBatch {
  /** Marks a batch already in the model's layout (what {@link Trainer.batches} yields). */
  readonly prepared: true;
  /** (B, T, I) or (T, B, I); token ids (B, T) or (T, B). */
  x: Tensor<Float32Array | Int32Array>;
  /** Targets shaped like the output ((B, k), (B, T, k) or time-major); class ids without the k. */
  y: Tensor<Float32Array | Int32Array> | null;
  /** Valid steps per sequence, or null when every sequence fills T. */
  lengths: Int32Array | null;
  /** Sequences in the batch. */
  size: number;
  /** Per output row (every dim but the last of a per-step output): 1 valid, 0 padding; null when all are valid. */
  rowMask: Uint8Array | null;
  /** Samples this batch counts for in samples/s: sequences, or tokens in a token stream. */
  samples: number;
}

/** Assembles the samples `indices` of `set` into one batch. */
export function assemble(set: SampleSet, indices: ArrayLike<number>, info: ModelInfo): TrainBatch {
  const { inputs, targets } = set;
  const B = indices.length;
  let T = 0;
  let shortest = Infinity;
  for (let b = 0; b < B; b++) {
    const len = inputs.lens[indices[b]!]!;
    T = Math.max(T, len);
    shortest = Math.min(shortest, len);
  }
  const padded = shortest < T;
  const I = inputs.featureSize;
  const tm = info.timeMajor;
  const at = (b: number, t: number): number => (tm ? t * B + b : b * T + t);
  // Without padding every element is copied below, so the array need not be zeroed first.
  const x = inputs.tokens ? new Int32Array(B * T) : padded ? new Float32Array(B * T * I) : uninitialized(Float32Array, B * T * I);
  for (let b = 0; b < B; b++) {
    const i = indices[b]!;
    const src = inputs.xs[i]!;
    const len = inputs.lens[i]!;
    if (!tm) x.set(src, b * T * I);
    else for (let t = 0; t < len; t++) x.set(src.subarray(t * I, (t + 1) * I), at(b, t) * I);
  }
  const lengths = padded ? Int32Array.from(indices, (i) => inputs.lens[i]!) : null;
  const xShape = inputs.tokens ? (tm ? [T, B] : [B, T]) : tm ? [T, B, I] : [B, T, I];
  let y: TrainBatch['y'] = null;
  let rowMask: Uint8Array | null = null;
  if (targets) {
    const k = targets.k;
    const cls = targets.kind === 'class';
    if (!targets.perStep) {
      const data = cls ? new Int32Array(B) : new Float32Array(B * k);
      for (let b = 0; b < B; b++) data.set(targets.rows[indices[b]!]!, b * k);
      y = { data, shape: cls ? [B] : [B, k] };
    } else {
      const data = cls ? new Int32Array(B * T).fill(IGNORE_INDEX) : new Float32Array(B * T * k);
      for (let b = 0; b < B; b++) {
        const row = targets.rows[indices[b]!]!;
        const len = inputs.lens[indices[b]!]!;
        if (!tm) data.set(row, b * T * k);
        else for (let t = 0; t < len; t++) data.set(row.subarray(t * k, (t + 1) * k), at(b, t) * k);
      }
      const lead = tm ? [T, B] : [B, T];
      y = { data, shape: cls ? lead : [...lead, k] };
    }
  }
  if (padded && info.perStep) {
    rowMask = new Uint8Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < inputs.lens[indices[b]!]!; t++) rowMask[at(b, t)] = 1;
  }
  return { prepared: true, x: { data: x, shape: xShape } as TrainBatch['x'], y, lengths, size: B, rowMask, samples: B };
}

/** Epoch `epoch`'s order of n samples: a Fisher-Yates shuffle seeded by (seed, epoch) alone. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const rng = new Random((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i]!; order[i] = order[j]!; order[j] = t;
  }
  return order;
}

/** Where the batches of an epoch come from. */
export interface BatchSource {
  /** Batches per epoch, when known before iterating. */
  readonly stepsPerEpoch: number | null;
  /** True for token streams: the LSTMs' final (h, c) of one batch is the next one's initial state. */
  readonly carriesState: boolean;
  /** Epoch `epoch`'s batches (from 0), skipping the first `skip` (a resumed epoch). */
  batches(epoch: number, skip: number): AsyncIterable<TrainBatch> | Iterable<TrainBatch>;
}

/** In-memory samples in batches of `batchSize` (the last one smaller), shuffled per epoch when asked. */
export class SampleSource implements BatchSource {
  readonly carriesState = false;
  constructor(private readonly set: SampleSet, private readonly info: ModelInfo, private readonly batchSize: number,
    private readonly shuffle: boolean, private readonly seed: number) {}

  get stepsPerEpoch(): number {
    return Math.ceil(this.set.inputs.n / this.batchSize);
  }

  *batches(epoch: number, skip: number): Iterable<TrainBatch> {
    const n = this.set.inputs.n;
    const order = this.shuffle ? permutation(n, this.seed, epoch) : null;
    for (let s = skip; s < this.stepsPerEpoch; s++) {
      const from = s * this.batchSize;
      const to = Math.min(n, from + this.batchSize);
      const idx = order ? order.subarray(from, to) : Uint32Array.from({ length: to - from }, (_, i) => from + i);
      yield assemble(this.set, idx, this.info);
    }
  }
}

/**
 * A token stream for truncated BPTT, cut the usual way (char-rnn; Zaremba et al. 2014): B parallel
 * streams of L = floor((n - 1) / B) tokens each, stream b starting at b * L, its targets the next
 * tokens; each batch is the next `steps` columns of every stream (the last chunk shorter).
 */
export class TokenStreamSource implements BatchSource {
  readonly carriesState = true;
  readonly streamLength: number;

  constructor(private readonly tokens: Int32Array, readonly streams: number, private readonly steps: number,
    private readonly info: ModelInfo) {
    this.streamLength = Math.floor((tokens.length - 1) / streams);
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.streamLength / this.steps);
  }

  *batches(_epoch: number, skip: number): Iterable<TrainBatch> {
    const B = this.streams;
    const L = this.streamLength;
    const tm = this.info.timeMajor;
    for (let s = skip; s < this.stepsPerEpoch; s++) {
      const t0 = s * this.steps;
      const T = Math.min(this.steps, L - t0);
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const from = b * L + t0;
        for (let t = 0; t < T; t++) {
          const at = tm ? t * B + b : b * T + t;
          x[at] = this.tokens[from + t]!;
          y[at] = this.tokens[from + t + 1]!;
        }
      }
      const shape = tm ? [T, B] : [B, T];
      yield { prepared: true, x: { data: x, shape }, y: { data: y, shape: [...shape] }, lengths: null, size: B, rowMask: null, samples: B * T };
    }
  }
}
