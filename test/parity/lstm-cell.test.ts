/**
 * LSTMCell against PyTorch's nn.LSTMCell (fixtures from scripts/fixtures/lstm_cell.py): h', c' and
 * the gradients of x, h, c and every weight, within the fixtures' tolerance (rtol 1e-4 + atol 1e-5).
 * Also: a float64 finite-difference check of the T = 1 kernel path with a given state (the path
 * the cell runs), and the cell's own argument checks.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LSTM, LSTMCell, readSafetensors, type Tensor } from '../../lib/index.js';
import { LstmStack } from '../../lib/layers/lstm-stack.js';
import { compare, randomArray, rng } from '../helpers/compare.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function f32(t: Tensor<any>): Tensor {
  return { data: t.data as Float32Array, shape: t.shape };
}

describe('PyTorch nn.LSTMCell parity', () => {
  for (const name of ['batched', 'unbatched_no_state', 'wide']) {
    it(`matches lstmcell_${name}`, () => {
      const { tensors: t, metadata } = readSafetensors(join(fixtures, `lstmcell_${name}.safetensors`));
      expect(metadata.kind).toBe('lstmcell');
      const cell = new LSTMCell({ inputSize: JSON.parse(metadata.input_size!), hiddenSize: JSON.parse(metadata.hidden_size!) });
      cell.loadStateDict({ weight_ih: t.weight_ih!, weight_hh: t.weight_hh!, bias_ih: t.bias_ih!, bias_hh: t.bias_hh! });
      const [h1, c1] = t.h0 ? cell.forward(f32(t.x!), [f32(t.h0), f32(t.c0!)]) : cell.forward(f32(t.x!));
      const g = cell.backward({ h: f32(t.gh!), c: f32(t.gc!) });
      const grads = cell.namedGradients();
      const checks: [string, Tensor, Tensor<any>][] = [
        ['h1', h1, t.h1!], ['c1', c1, t.c1!], ['grad.x', g.x, t['grad.x']!],
        ...(t.h0 ? [['grad.h0', g.h, t['grad.h0']!], ['grad.c0', g.c, t['grad.c0']!]] as [string, Tensor, Tensor<any>][] : []),
        ...['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((k) => [`grad.${k}`, grads[k]!, t[`grad.${k}`]!] as [string, Tensor, Tensor<any>]),
      ];
      for (const [what, actual, expected] of checks) {
        expect(actual.shape, what).toEqual(expected.shape);
        const d = compare(actual.data, expected.data as Float32Array);
        expect(d.worstRatio, `${what}: max abs ${d.maxAbs} at ${d.at}`).toBeLessThanOrEqual(1);
      }
    });
  }

  it('equals one step of an LSTM with the same weights (the kernel it runs on)', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 4, seed: 7 });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    const w = cell.stateDict();
    lstm.loadStateDict({ weight_ih_l0: w.weight_ih!, weight_hh_l0: w.weight_hh!, bias_ih_l0: w.bias_ih!, bias_hh_l0: w.bias_hh! });
    const next = rng(3);
    const x = randomArray(Float32Array, 2 * 3, next);
    const h = randomArray(Float32Array, 2 * 4, next);
    const c = randomArray(Float32Array, 2 * 4, next);
    const [h1, c1] = cell.forward({ data: x, shape: [2, 3] }, [{ data: h, shape: [2, 4] }, { data: c, shape: [2, 4] }]);
    const out = lstm.forward({ data: x, shape: [1, 2, 3] }, { h0: { data: h, shape: [1, 2, 4] }, c0: { data: c, shape: [1, 2, 4] } });
    expect(Array.from(h1.data)).toEqual(Array.from(out.h.data));
    expect(Array.from(c1.data)).toEqual(Array.from(out.c.data));
  });

  it('forwardAsync gives the same bits as forward', async () => {
    const cell = new LSTMCell({ inputSize: 5, hiddenSize: 6, seed: 1 });
    const x = { data: randomArray(Float32Array, 4 * 5, rng(9)), shape: [4, 5] };
    const [h, c] = cell.forward(x);
    const [ha, ca] = await cell.forwardAsync(x);
    expect(Array.from(ha.data)).toEqual(Array.from(h.data));
    expect(Array.from(ca.data)).toEqual(Array.from(c.data));
  });

  it('names PyTorch weight names and shapes', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 5 });
    const p = cell.namedParameters();
    expect(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.shape]))).toEqual({
      weight_ih: [20, 3], weight_hh: [20, 5], bias_ih: [20], bias_hh: [20],
    });
  });

  it('rejects bad arguments with errors naming them', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
    expect(() => cell.forward({ data: new Float32Array(8), shape: [2, 4] })).toThrow(/x must have shape \[B, 3\]/);
    expect(() => cell.forward({ data: new Float32Array(6), shape: [2, 3] }, [{ data: new Float32Array(2), shape: [1, 2] }, { data: new Float32Array(4), shape: [2, 2] }]))
      .toThrow(/h must have shape \[2, 2\]/);
    expect(() => cell.backward({})).toThrow(/call forward\(\) before backward\(\)/);
    expect(() => new LSTMCell({ inputSize: 3, hiddenSise: 2 } as never)).toThrow(/did you mean "hiddenSize"/);
    cell.forward({ data: new Float32Array(6), shape: [2, 3] }, undefined, { noGrad: true });
    expect(() => cell.backward({ h: { data: new Float32Array(4), shape: [2, 2] } })).toThrow(/noGrad/);
  });
});

describe('LSTMCell float64 finite differences (T = 1 with a given state)', () => {
  it('matches central differences for x, h, c and every weight', () => {
    const I = 4;
    const H = 5;
    const B = 3;
    const next = rng(77);
    const stack = new LstmStack({ inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, projSize: 0 }, Float64Array);
    stack.params.set(randomArray(Float64Array, stack.params.length, next, 0.6));
    const x = randomArray(Float64Array, B * I, next);
    const h0 = randomArray(Float64Array, B * H, next, 0.5);
    const c0 = randomArray(Float64Array, B * H, next, 0.5);
    const Rh = randomArray(Float64Array, B * H, next);
    const Rc = randomArray(Float64Array, B * H, next);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const loss = () => {
      const r = stack.forward(x, 1, B, h0, c0, null);
      return dot(r.hn, Rh) + dot(r.cn, Rc);
    };
    stack.grads.fill(0);
    stack.forward(x, 1, B, h0, c0, null);
    const g = stack.backward(null, Rh, Rc);
    let worst = 0;
    for (const [values, grad] of [[stack.params, stack.grads.slice()], [x, g.dx!], [h0, g.dh0], [c0, g.dc0]] as const) {
      let scale = 0;
      for (const v of grad) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < values.length; i++) {
        const keep = values[i]!;
        values[i] = keep + 1e-6;
        const up = loss();
        values[i] = keep - 1e-6;
        const down = loss();
        values[i] = keep;
        worst = Math.max(worst, Math.abs((up - down) / 2e-6 - grad[i]!) / Math.max(scale, 1e-3));
      }
    }
    expect(worst).toBeLessThan(1e-7);
  });
});
