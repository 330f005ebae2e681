/** Numeric comparison for parity tests: PyTorch fixtures hold float32 results computed in float64. */

export interface Diff {
  /** Largest |a - b|. */
  maxAbs: number;
  /** Largest |a - b| / (atol + rtol * |b|): <= 1 means within tolerance. */
  worstRatio: number;
  /** Index of the worst element. */
  at: number;
}

/** Compares `actual` with `expected` elementwise against atol + rtol * |expected|. */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): Diff {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: ${actual.length} vs ${expected.length}`);
  }
  let maxAbs = 0;
  let worstRatio = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const d = Math.abs(a - e);
    const ratio = Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(e));
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
    if (ratio > worstRatio) { worstRatio = ratio; at = i; }
  }
  return { maxAbs, worstRatio, at };
}

/** A small deterministic generator for test data (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An array of n uniform values in [-scale, scale). */
export function randomArray<A extends Float32Array | Float64Array>(Ctor: { new (n: number): A }, n: number,
  next: () => number, scale = 1): A {
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}
