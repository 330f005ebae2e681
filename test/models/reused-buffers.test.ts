/**
 * The LSTM engine reuses its large per-call arrays from one call to the next (lstm-stack.ts
 * `scratch`: the saved input, the outputs between layers, the dropout buffers, the gradients between
 * layers) and forward takes caller-owned result arrays (`out`). Neither may change a single bit of a
 * result: every call of a model that has run many calls of other shapes must give what a fresh
 * model with the same weights and random state gives.
 */
import { describe, expect, it } from 'vitest';
import { LSTM, LstmError, tensor, type LSTMOptions, type Tensor } from '../../lib/index.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const rand = (shape: number[], seed = 1): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), rng(seed)), shape);

/** A fresh model with m's weights and random state: its buffers are all new. */
function twin(opts: LSTMOptions, m: LSTM): LSTM {
  const f = new LSTM(opts);
  f.loadStateDict(m.stateDict());
  f.loadRngState(m.rngState());
  return f;
}

describe('reused engine buffers', () => {
  // Four layers: the two alternating between-layer gradient arrays are each written twice per
  // backward; the first call is the largest, so later ones run on views holding its values.
  const runs: [number, number, number[] | undefined][] = [[12, 5, undefined], [7, 3, [7, 2, 5]], [12, 4, [3, 12, 1, 9]], [4, 1, undefined]];
  for (const batchFirst of [false, true]) {
    it(`gives a fresh model's outputs and gradients bit for bit, call after call (4 layers, bidirectional, dropout, batchFirst ${batchFirst})`, async () => {
      const opts: LSTMOptions = { inputSize: 5, hiddenSize: 6, numLayers: 4, bidirectional: true, dropout: 0.3, batchFirst, seed: 3 };
      const m = new LSTM(opts);
      let seed = 10;
      for (const [T, B, lengths] of runs) {
        for (const async of [false, true]) {
          const x = rand(batchFirst ? [B, T, 5] : [T, B, 5], seed++);
          const gy = rand(batchFirst ? [B, T, 12] : [T, B, 12], seed++);
          const gh = rand([8, B, 6], seed++);
          const f = twin(opts, m);
          const o = lengths ? { lengths } : {};
          const ref = f.forward(x, o);
          const refGrad = f.backward({ output: gy, h: gh });
          m.zeroGrad();
          const got = async ? await m.forwardAsync(x, o) : m.forward(x, o);
          const grad = async ? await m.backwardAsync({ output: gy, h: gh }) : m.backward({ output: gy, h: gh });
          expect(got.output.data).toEqual(ref.output.data);
          expect(got.h.data).toEqual(ref.h.data);
          expect(got.c.data).toEqual(ref.c.data);
          expect(grad.x.data).toEqual(refGrad.x.data);
          expect(grad.h0.data).toEqual(refGrad.h0.data);
          expect(grad.c0.data).toEqual(refGrad.c0.data);
          const fg = f.namedGradients();
          for (const [name, g] of Object.entries(m.namedGradients())) expect(g.data, name).toEqual(fg[name]!.data);
        }
      }
    });
  }

  it('discards the last activations at the next forward, a noGrad one included', () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true, seed: 1 });
    m.forward(rand([2, 5, 3]));
    m.forward(rand([3, 4, 3]), { noGrad: true });
    expectError(() => m.backward({}), LstmError as never, /call forward\(\) before backward\(\)/, 'ERR_LSTM_STATE');
  });

  it('returns results the next call does not overwrite (batchFirst output and input gradient)', () => {
    const m = new LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: true, seed: 1 });
    const a = m.forward(rand([2, 5, 3], 1));
    const ga = m.backward({ output: rand([2, 5, 4], 2) });
    const keep = [a.output.data.slice(), ga.x.data.slice()];
    m.forward(rand([2, 5, 3], 3));
    m.backward({ output: rand([2, 5, 4], 4) });
    expect(a.output.data).toEqual(keep[0]);
    expect(ga.x.data).toEqual(keep[1]);
  });
});

describe('forward out option', () => {
  for (const batchFirst of [false, true]) {
    for (const async of [false, true]) {
      it(`writes the results into the caller's tensors and returns them (batchFirst ${batchFirst}, ${async ? 'forwardAsync' : 'forward'})`, async () => {
        const opts: LSTMOptions = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, batchFirst, seed: 4 };
        const m = new LSTM(opts);
        const [T, B] = [6, 3];
        const out = {
          output: tensor(new Float32Array(T * B * 10).fill(Number.NaN), batchFirst ? [B, T, 10] : [T, B, 10]),
          h: tensor(new Float32Array(4 * B * 5).fill(Number.NaN), [4, B, 5]),
          c: tensor(new Float32Array(4 * B * 5).fill(Number.NaN), [4, B, 5]),
        };
        for (const [seed, noGrad] of [[1, true], [2, false], [3, true]] as const) {
          const x = rand(batchFirst ? [B, T, 3] : [T, B, 3], seed);
          const ref = m.forward(x, { lengths: [6, 2, 4], noGrad: true });
          const got = async ? await m.forwardAsync(x, { lengths: [6, 2, 4], noGrad, out }) : m.forward(x, { lengths: [6, 2, 4], noGrad, out });
          expect(got.output).toBe(out.output);
          expect(got.h).toBe(out.h);
          expect(got.c).toBe(out.c);
          expect(out.output.data).toEqual(ref.output.data);
          expect(out.h.data).toEqual(ref.h.data);
          expect(out.c.data).toEqual(ref.c.data);
        }
        // A forward with grad and `out` still backpropagates.
        const x = rand(batchFirst ? [B, T, 3] : [T, B, 3], 9);
        const f = twin(opts, m);
        f.forward(x);
        const refGrad = f.backward({ output: rand(batchFirst ? [B, T, 10] : [T, B, 10], 8) });
        if (async) await m.forwardAsync(x, { out }); else m.forward(x, { out });
        expect(m.backward({ output: rand(batchFirst ? [B, T, 10] : [T, B, 10], 8) }).x.data).toEqual(refGrad.x.data);
      });
    }
  }

  it('takes any subset of the three', () => {
    const m = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = rand([4, 2, 2]);
    const h = tensor(new Float32Array(6), [1, 2, 3]);
    const r = m.forward(x, { out: { h } });
    expect(r.h).toBe(h);
    expect(r.output.data).toEqual(m.forward(x).output.data);
  });

  it('refuses a wrong shape, a wrong type and shared memory, naming out.<key>', () => {
    const m = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = rand([4, 2, 2]);
    expectError(() => m.forward(x, { out: { output: tensor(new Float32Array(24), [2, 4, 3]) } }), RangeError,
      /^lstm\.forward: out\.output must have shape \[4, 2, 3\].*got \[2, 4, 3\]/, 'ERR_LSTM_SHAPE');
    expectError(() => m.forward(x, { out: { h: { data: new Float64Array(6), shape: [1, 2, 3] } as never } }), TypeError,
      /^lstm\.forward: out\.h\.data must be a Float32Array/);
    expectError(() => m.forward(x, { out: { hh: 1 } as never }), RangeError, /^lstm\.forward: out: unknown option "hh" \(did you mean "h"\?\)/);
    const shared = new Float32Array(30);
    expectError(() => m.forward(x, { out: { output: tensor(shared.subarray(0, 24), [4, 2, 3]), h: tensor(shared.subarray(20, 26), [1, 2, 3]) } }),
      RangeError, /^lstm\.forward: out\.h must not share memory with x, h0, c0 or another out array/, 'ERR_LSTM_SHAPE');
    const both = new Float32Array(40);
    both.set(x.data);
    expectError(() => m.forward(tensor(both.subarray(0, 16), [4, 2, 2]), { out: { output: tensor(both.subarray(10, 34), [4, 2, 3]) } }),
      RangeError, /out\.output must not share memory/, 'ERR_LSTM_SHAPE');
  });
});
