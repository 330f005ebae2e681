// Hochreiter & Schmidhuber (1997) long-time-lag tasks, generated from a seeded generator: the adding
// problem (experiment 4) and temporal order (experiment 6a), defined as in data/README.md and as the
// PyTorch baseline generates them (same distributions; the random streams differ). Batches are
// batch-first tensors (B, Lmax, features), zero past each sequence's length, with `lengths`.

/** An integer uniform in [lo, hi). */
function int(rng, lo, hi) {
  return lo + Math.floor(rng.next() * (hi - lo));
}

/**
 * Adding problem: each step is (value uniform in [-1, 1], marker in {-1, 0, 1}); length uniform in
 * [T, T + T/10]; X1 marked among the first 10 pairs, X2 among the first T/2 - 1 still unmarked ones;
 * the first and last pairs carry marker -1 unless marked (X1 on the first pair is taken as 0).
 * Target 0.5 + (X1 + X2) / 4; a sequence is solved when |error| < 0.04.
 * @returns {{ x: {data: Float32Array, shape: number[]}, lengths: Int32Array, y: {data: Float32Array, shape: number[]} }}
 */
export function addingBatch(n, rng, T) {
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) lengths[i] = int(rng, T, T + Math.floor(T / 10) + 1);
  const Lmax = Math.max(...lengths);
  const x = new Float32Array(n * Lmax * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const L = lengths[i];
    const row = i * Lmax * 2;
    for (let t = 0; t < L; t++) x[row + 2 * t] = 2 * rng.next() - 1;
    x[row + 1] = -1;
    x[row + 2 * (L - 1) + 1] = -1;
    const p1 = int(rng, 0, 10);
    const k = int(rng, 0, Math.floor(T / 2) - 1);
    const p2 = k + (k >= p1 ? 1 : 0);
    x[row + 2 * p1 + 1] = 1;
    x[row + 2 * p2 + 1] = 1;
    if (p1 === 0) x[row] = 0;
    y[i] = 0.5 + (x[row + 2 * p1] + x[row + 2 * p2]) / 4;
  }
  return { x: { data: x, shape: [n, Lmax, 2] }, lengths, y: { data: y, shape: [n, 1] } };
}

/** Adding problem: how many predictions (N, 1) are within 0.04 of the targets. */
export function addingCorrect(pred, y) {
  let c = 0;
  for (let i = 0; i < y.data.length; i++) if (Math.abs(pred.data[i] - y.data[i]) < 0.04) c++;
  return c;
}

// Temporal order symbols, one-hot: E B a b c d X Y
const E = 0, B = 1, X = 6;

/**
 * Temporal order (6a): length 100 to 110, starts with E, ends with B, distractors a-d; X or Y at
 * t1 in [10, 20] and t2 in [50, 60] (1-based); class XX, XY, YX, YY = 0..3. A sequence is solved
 * when every softmax output is within 0.3 of the one-hot target.
 * @param minLength shortest sequence (default 100; lengths in [minLength, minLength + 10]); the
 *   relevant positions scale with it (t1 in [0.1, 0.2] and t2 in [0.5, 0.6] of minLength).
 */
export function temporalOrderBatch(n, rng, minLength = 100) {
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) lengths[i] = int(rng, minLength, minLength + 11);
  const Lmax = Math.max(...lengths);
  const x = new Float32Array(n * Lmax * 8);
  const y = new Int32Array(n);
  const s = minLength / 100;
  for (let i = 0; i < n; i++) {
    const L = lengths[i];
    const sym = new Int32Array(L);
    for (let t = 0; t < L; t++) sym[t] = int(rng, 2, 6);
    sym[0] = E;
    sym[L - 1] = B;
    const t1 = int(rng, Math.round(10 * s), Math.round(20 * s) + 1) - 1;
    const t2 = int(rng, Math.round(50 * s), Math.round(60 * s) + 1) - 1;
    const s1 = int(rng, 0, 2);
    const s2 = int(rng, 0, 2);
    sym[t1] = X + s1;
    sym[t2] = X + s2;
    y[i] = 2 * s1 + s2;
    for (let t = 0; t < L; t++) x[(i * Lmax + t) * 8 + sym[t]] = 1;
  }
  return { x: { data: x, shape: [n, Lmax, 8] }, lengths, y: { data: y, shape: [n] } };
}

/** Temporal order: how many rows of logits (N, 4) have every softmax output within 0.3 of the one-hot target. */
export function temporalOrderCorrect(logits, y) {
  let c = 0;
  for (let i = 0; i < y.data.length; i++) {
    const row = logits.data.subarray(i * 4, i * 4 + 4);
    const max = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    if (e.every((v, k) => Math.abs(v / sum - (k === y.data[i] ? 1 : 0)) < 0.3)) c++;
  }
  return c;
}
