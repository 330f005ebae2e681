/**
 * LSTM biasInit 'chrono' (Tallec and Ollivier, 2018): forget-gate bias log(u), u ~ U[1, maxTimeLag - 1],
 * input-gate bias its negative, all of it in bias_ih (bias_hh zero) so the sum is the paper's value.
 * The distribution is checked with a Kolmogorov-Smirnov test on exp(b_f) and the mean of b_f.
 */
import { describe, expect, it } from 'vitest';
import { LSTM, Linear, Sequential } from '../../lib/index.js';
import { expectError } from '../helpers/errors.js';

/** Kolmogorov-Smirnov statistic of `xs` against the uniform distribution on [lo, hi]. */
function ksUniform(xs: ArrayLike<number>, lo: number, hi: number): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = Math.min(1, Math.max(0, (s[i]! - lo) / (hi - lo)));
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/** E[log u] for u ~ U[a, b]. */
function meanLogUniform(a: number, b: number): number {
  return (b * Math.log(b) - b - (a * Math.log(a) - a)) / (b - a);
}

const H = 2048;
const LAG = 110;
// The KS critical value at the 1% level; with fixed seeds the test is deterministic, and a wrong
// distribution (see the last test) lies far above it.
const KS_CRITICAL = 1.63 / Math.sqrt(H);

function biases(lstm: LSTM, sfx: string) {
  const p = lstm.namedParameters();
  return { ih: p[`bias_ih${sfx}`]!.data, hh: p[`bias_hh${sfx}`]!.data };
}

describe("LSTM biasInit 'chrono'", () => {
  // projSize 1 keeps the weights small; the biases are (4H) per layer and direction all the same
  const lstm = new LSTM({ inputSize: 3, hiddenSize: H, projSize: 1, numLayers: 2, bidirectional: true, biasInit: 'chrono',
    maxTimeLag: LAG, seed: 11 });
  const dirs = ['_l0', '_l0_reverse', '_l1', '_l1_reverse'];

  it('puts the whole bias in bias_ih: forget rows log(u), input rows -log(u), cell and output rows 0, bias_hh 0', () => {
    for (const sfx of dirs) {
      const { ih, hh } = biases(lstm, sfx);
      expect(hh.every((v) => v === 0)).toBe(true);
      expect(ih.subarray(2 * H).every((v) => v === 0)).toBe(true);
      for (let j = 0; j < H; j++) expect(ih[j]).toBe(-ih[H + j]!);
      // bias_ih + bias_hh, the gate's bias, is the forget bias itself
      const f = ih.subarray(H, 2 * H);
      expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...f)).toBeLessThanOrEqual(Math.log(LAG - 1) + 1e-6);
    }
  });

  it('draws exp(forget bias) uniform on [1, maxTimeLag - 1] in every layer and direction (KS test), independently', () => {
    const seen: Float32Array[] = [];
    for (const sfx of dirs) {
      const f = biases(lstm, sfx).ih.subarray(H, 2 * H);
      expect(ksUniform(f.map(Math.exp), 1, LAG - 1)).toBeLessThan(KS_CRITICAL);
      const mean = f.reduce((a, b) => a + b, 0) / H;
      // sd of log u for u ~ U[1, 109] is about 0.95: 4 standard errors
      expect(Math.abs(mean - meanLogUniform(1, LAG - 1))).toBeLessThan(4 * 0.95 / Math.sqrt(H));
      for (const other of seen) expect(Array.from(f)).not.toEqual(Array.from(other));
      seen.push(f);
    }
  });

  it('keeps PyTorch default weights (uniform in ±1/sqrt(hiddenSize))', () => {
    const small = new LSTM({ inputSize: 3, hiddenSize: 256, numLayers: 2, biasInit: 'chrono', maxTimeLag: LAG, seed: 1 });
    const w = small.namedParameters().weight_hh_l1!.data;
    const k = 1 / Math.sqrt(256);
    let max = 0;
    for (const v of w) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(k);
    expect(max).toBeGreaterThan(0.99 * k);
  });

  it('the KS check rejects the default initialisation and a chrono init for another lag', () => {
    const plain = new LSTM({ inputSize: 3, hiddenSize: H, projSize: 1, seed: 11 });
    const f = biases(plain, '_l0');
    const sum = f.ih.subarray(H, 2 * H).map((v, j) => v + f.hh[H + j]!);
    expect(ksUniform(sum.map(Math.exp), 1, LAG - 1)).toBeGreaterThan(10 * KS_CRITICAL);
    const short = new LSTM({ inputSize: 3, hiddenSize: H, projSize: 1, biasInit: 'chrono', maxTimeLag: 55, seed: 11 });
    expect(ksUniform(biases(short, '_l0').ih.subarray(H, 2 * H).map(Math.exp), 1, LAG - 1)).toBeGreaterThan(5 * KS_CRITICAL);
    expect(ksUniform(biases(short, '_l0').ih.subarray(H, 2 * H).map(Math.exp), 1, 54)).toBeLessThan(KS_CRITICAL);
  });

  it('is reproducible from a seed and applied again when a Sequential re-initialises with its seed', () => {
    const make = () => new LSTM({ inputSize: 2, hiddenSize: 64, biasInit: 'chrono', maxTimeLag: LAG, seed: 5 });
    expect(make().stateDict()).toEqual(make().stateDict());
    const a = new Sequential({ lstm: make(), head: new Linear({ inFeatures: 64, outFeatures: 1 }) }, { seed: 9 });
    const b = new Sequential({ lstm: make(), head: new Linear({ inFeatures: 64, outFeatures: 1 }) }, { seed: 9 });
    const ih = a.namedParameters()['lstm.bias_ih_l0']!.data;
    expect(Array.from(ih)).toEqual(Array.from(b.namedParameters()['lstm.bias_ih_l0']!.data));
    expect(Array.from(ih)).not.toEqual(Array.from(make().namedParameters().bias_ih_l0!.data));
    expect(a.namedParameters()['lstm.bias_hh_l0']!.data.every((v) => v === 0)).toBe(true);
    for (let j = 0; j < 64; j++) expect(ih[j]).toBe(-ih[64 + j]!);
    expect(ih.subarray(64, 128).every((v) => v >= 0 && v <= Math.log(LAG - 1) + 1e-6)).toBe(true);
  });

  it('exposes biasInit and maxTimeLag', () => {
    const plain = new LSTM({ inputSize: 1, hiddenSize: 2 });
    expect([plain.biasInit, plain.maxTimeLag]).toEqual(['default', null]);
    const chrono = new LSTM({ inputSize: 1, hiddenSize: 2, biasInit: 'chrono', maxTimeLag: 30 });
    expect([chrono.biasInit, chrono.maxTimeLag]).toEqual(['chrono', 30]);
  });

  it('rejects bad biasInit and maxTimeLag values naming the argument', () => {
    const base = { inputSize: 2, hiddenSize: 4 };
    expectError(() => new LSTM({ ...base, biasInit: 'Chrono' as 'chrono', maxTimeLag: 10 }), RangeError,
      /^new LSTM: biasInit must be 'default' or 'chrono', got the string "Chrono"$/);
    expectError(() => new LSTM({ ...base, biasInit: 1 as unknown as 'chrono' }), TypeError,
      /^new LSTM: biasInit must be 'default' or 'chrono', got the number 1$/);
    expectError(() => new LSTM({ ...base, biasInit: 'chrono' }), RangeError,
      /^new LSTM: biasInit 'chrono' needs maxTimeLag .*got undefined$/);
    expectError(() => new LSTM({ ...base, biasInit: 'chrono', maxTimeLag: 2 }), RangeError,
      /^new LSTM: maxTimeLag must be a finite number > 2, got the number 2$/);
    expectError(() => new LSTM({ ...base, biasInit: 'chrono', maxTimeLag: Infinity }), RangeError, /got the number Infinity$/);
    expectError(() => new LSTM({ ...base, biasInit: 'chrono', maxTimeLag: '110' as unknown as number }), TypeError,
      /^new LSTM: maxTimeLag must be a number > 2, got the string "110"$/);
    expectError(() => new LSTM({ ...base, maxTimeLag: 110 }), RangeError,
      /^new LSTM: maxTimeLag is only used with biasInit 'chrono', got biasInit 'default' and maxTimeLag the number 110$/);
    expectError(() => new LSTM({ ...base, maxTimelag: 110 } as never), RangeError, /unknown option "maxTimelag" \(did you mean "maxTimeLag"\?\)/);
  });
});
