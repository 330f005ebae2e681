/**
 * Finite-difference gradient checks in float64 through the whole stack (native kernel included):
 * for every parameter element and every element of x, h0 and c0, the analytic gradient of
 *   loss = sum(y * Ry) + sum(hn * Rh) + sum(cn * Rc)       (R random)
 * equals the central difference (loss(p + eps) - loss(p - eps)) / (2 eps), eps = 1e-6.
 * Cases cover one and two layers, both directions, lengths (unsorted, one of them 0 steps short of T
 * and one shorter) and a projection.
 */
import { describe, expect, it } from 'vitest';
import { LstmStack } from '../../lib/layers/lstm-stack.js';
import { randomArray, rng } from '../helpers/compare.js';

interface Case { name: string; I: number; H: number; L: number; bidir: boolean; P: number; lengths: number[] | null }

const T = 4;
const B = 3;
const cases: Case[] = [
  { name: '1 layer', I: 4, H: 5, L: 1, bidir: false, P: 0, lengths: null },
  { name: '1 layer, lengths', I: 4, H: 5, L: 1, bidir: false, P: 0, lengths: [2, 4, 1] },
  { name: 'bidirectional, lengths', I: 3, H: 4, L: 1, bidir: true, P: 0, lengths: [4, 1, 3] },
  { name: 'projection', I: 3, H: 5, L: 1, bidir: false, P: 2, lengths: null },
  { name: 'projection, bidirectional, lengths', I: 3, H: 4, L: 1, bidir: true, P: 3, lengths: [3, 4, 2] },
  { name: '2 layers, bidirectional', I: 3, H: 4, L: 2, bidir: true, P: 0, lengths: null },
  { name: '2 layers, bidirectional, projection, lengths', I: 2, H: 4, L: 2, bidir: true, P: 2, lengths: [1, 4, 3] },
];

function check(c: Case) {
  const next = rng(1234 + c.I * 7 + c.H * 13 + c.L + (c.bidir ? 100 : 0) + c.P * 1000 + (c.lengths ? 5 : 0));
  const stack = new LstmStack({ inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidir, projSize: c.P }, Float64Array);
  stack.params.set(randomArray(Float64Array, stack.params.length, next, 0.6));
  const D = c.bidir ? 2 : 1;
  const Hout = c.P || c.H;
  const x = randomArray(Float64Array, T * B * c.I, next);
  const h0 = randomArray(Float64Array, c.L * D * B * Hout, next, 0.5);
  const c0 = randomArray(Float64Array, c.L * D * B * c.H, next, 0.5);
  const Ry = randomArray(Float64Array, T * B * D * Hout, next);
  const Rh = randomArray(Float64Array, h0.length, next);
  const Rc = randomArray(Float64Array, c0.length, next);
  const lengths = c.lengths ? Int32Array.from(c.lengths) : null;

  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const loss = () => {
    const r = stack.forward(x, T, B, h0, c0, lengths);
    return dot(r.y, Ry) + dot(r.hn, Rh) + dot(r.cn, Rc);
  };

  stack.grads.fill(0);
  stack.forward(x, T, B, h0, c0, lengths);
  const g = stack.backward(Ry, Rh, Rc);
  const analytic: [string, Float64Array, Float64Array][] = [
    ['params', stack.params, stack.grads.slice()], ['x', x, g.dx!], ['h0', h0, g.dh0], ['c0', c0, g.dc0],
  ];
  const eps = 1e-6;
  let worst = 0;
  let worstAt = '';
  for (const [name, values, grad] of analytic) {
    let scale = 0;
    for (const v of grad) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < values.length; i++) {
      const keep = values[i]!;
      values[i] = keep + eps;
      const up = loss();
      values[i] = keep - eps;
      const down = loss();
      values[i] = keep;
      const numeric = (up - down) / (2 * eps);
      // Error relative to the gradient's own scale: robust for elements whose gradient is ~0.
      const err = Math.abs(numeric - grad[i]!) / Math.max(scale, 1e-3);
      if (err > worst) { worst = err; worstAt = `${name}[${i}] analytic ${grad[i]} numeric ${numeric}`; }
    }
  }
  return { worst, worstAt };
}

describe('float64 finite-difference gradient check', () => {
  for (const c of cases) {
    it(`matches central differences: ${c.name}`, () => {
      const { worst, worstAt } = check(c);
      console.log(`gradcheck ${c.name}: worst relative error ${worst.toExponential(2)} (${worstAt})`);
      expect(worst, worstAt).toBeLessThan(1e-7);
    });
  }

  it('gives zero gradient to x past each length', () => {
    const stack = new LstmStack({ inputSize: 2, hiddenSize: 3, numLayers: 1, bidirectional: true, projSize: 0 }, Float64Array);
    const next = rng(7);
    stack.params.set(randomArray(Float64Array, stack.params.length, next));
    const x = randomArray(Float64Array, T * B * 2, next);
    const lengths = Int32Array.from([1, 3, 0]);
    const r = stack.forward(x, T, B, null, null, lengths);
    const g = stack.backward(r.y.map(() => 1), r.hn.map(() => 1), r.cn.map(() => 1));
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const pad = t >= lengths[b]!;
        for (let k = 0; k < 6; k++) {
          if (pad) expect(r.y[(t * B + b) * 6 + k]).toBe(0);
        }
        for (let k = 0; k < 2; k++) if (pad) expect(g.dx![(t * B + b) * 2 + k]).toBe(0);
      }
    }
  });
});
