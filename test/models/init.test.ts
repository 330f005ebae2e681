/** Initialisers: bounds and statistics as PyTorch's nn.init, orthogonality, the forget-gate bias, seeding. */
import { describe, expect, it } from 'vitest';
import { init, LSTM, Random } from '../../lib/index.js';
import { expectError } from '../helpers/errors.js';

const t = (rows: number, cols: number) => ({ data: new Float32Array(rows * cols), shape: [rows, cols] });

describe('init', () => {
  it('xavierUniform stays within ±gain*sqrt(6/(fanIn+fanOut)) and fills the range', () => {
    const w = init.xavierUniform(t(64, 32), { rng: new Random(1), gain: 2 });
    const bound = 2 * Math.sqrt(6 / 96);
    const max = Math.max(...w.data.map(Math.abs));
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.95 * bound);
  });
  it('kaimingUniform with a = sqrt(5) is U(±1/sqrt(fanIn)), as nn.Linear', () => {
    const w = init.kaimingUniform(t(50, 100), { rng: new Random(2), a: Math.sqrt(5) });
    const max = Math.max(...w.data.map(Math.abs));
    expect(max).toBeLessThanOrEqual(0.1 + 1e-7);
    expect(max).toBeGreaterThan(0.095);
  });
  it('normal has the requested mean and standard deviation', () => {
    const w = init.normal(t(200, 200), 1, 0.5, { rng: new Random(3) });
    const mean = w.data.reduce((a, b) => a + b, 0) / w.data.length;
    const sd = Math.sqrt(w.data.reduce((a, b) => a + (b - mean) ** 2, 0) / w.data.length);
    expect(mean).toBeCloseTo(1, 2);
    expect(sd).toBeCloseTo(0.5, 2);
  });
  it('orthogonal gives orthonormal columns for a tall (4H, H) matrix and rows for a wide one', () => {
    for (const [rows, cols] of [[32, 8], [8, 32]] as const) {
      const w = init.orthogonal(t(rows, cols), { rng: new Random(4) });
      const short = Math.min(rows, cols);
      for (let a = 0; a < short; a++) {
        for (let b = 0; b < short; b++) {
          let dot = 0;
          for (let k = 0; k < Math.max(rows, cols); k++) {
            dot += rows >= cols ? w.data[k * cols + a]! * w.data[k * cols + b]! : w.data[a * cols + k]! * w.data[b * cols + k]!;
          }
          expect(dot).toBeCloseTo(a === b ? 1 : 0, 5);
        }
      }
    }
  });
  it('is reproducible from a seed', () => {
    expect(init.orthogonal(t(6, 4), { rng: new Random(9) }).data).toEqual(init.orthogonal(t(6, 4), { rng: new Random(9) }).data);
  });
  it('rejects a tensor with fewer than 2 dimensions for fan-based initialisers', () => {
    expectError(() => init.xavierUniform({ data: new Float32Array(4), shape: [4] }), RangeError,
      /^init.xavierUniform: tensor must have at least 2 dimensions, got shape \[4\]$/);
  });
});

describe('LSTM.setForgetGateBias', () => {
  it('sets bias_ih forget rows to the value and bias_hh forget rows to 0 in every layer and direction', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 });
    lstm.setForgetGateBias(1);
    const p = lstm.namedParameters();
    for (const sfx of ['_l0', '_l0_reverse', '_l1', '_l1_reverse']) {
      expect(Array.from(p[`bias_ih${sfx}`]!.data.subarray(4, 8))).toEqual([1, 1, 1, 1]);
      expect(Array.from(p[`bias_hh${sfx}`]!.data.subarray(4, 8))).toEqual([0, 0, 0, 0]);
      expect(p[`bias_ih${sfx}`]!.data[0]).not.toBe(1);
    }
  });
});
