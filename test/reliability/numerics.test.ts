/**
 * Numerical safety: a model with finite weights given finite inputs never outputs NaN, including
 * inputs of magnitude 1e4 that saturate every gate, through forward, backward (gradients of inputs
 * and parameters), sessions and predict; and the opt-in `checkFinite` option of fit, Trainer and
 * predict refuses NaN/Inf tensor inputs with a coded RangeError naming the first bad index.
 */
import { describe, expect, it } from 'vitest';
import { Linear, LSTM, Sequential, Trainer } from '../../lib/index.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { rng } from '../infer/helpers.js';

const allFinite = (a: ArrayLike<number>): boolean => Array.prototype.every.call(a, (v: number) => Number.isFinite(v));

function model(seed: number, returnSequences = true, proj = 0): Sequential {
  return new Sequential({
    lstm: new LSTM({ inputSize: 4, hiddenSize: 24, numLayers: 2, batchFirst: true, returnSequences, projSize: proj || undefined,
      bidirectional: seed % 2 === 0 }),
    head: new Linear({ inFeatures: (proj || 24) * (seed % 2 === 0 ? 2 : 1), outFeatures: 3 }),
  }, { seed });
}

/** (N, T, 4) values of magnitude `scale` with mixed signs (and some exact ±scale). */
function bigInput(seed: number, N: number, T: number, scale: number): Tensor {
  const next = rng(seed);
  const data = Float32Array.from({ length: N * T * 4 }, (_, k) => (k % 7 === 0 ? Math.sign(next() - 0.5) : next() * 2 - 1) * scale);
  return tensor(data, [N, T, 4]);
}

describe('no NaN out of finite weights and finite inputs', () => {
  for (const scale of [1e4, -1e4, 3e38]) {
    it(`forward, backward and parameter gradients with inputs of magnitude ${scale}`, () => {
      for (const [seed, proj] of [[1, 0], [2, 0], [3, 8]] as const) {
        const m = model(seed, true, proj);
        const x = bigInput(seed, 5, 40, scale);
        const y = m.forward(x);
        expect(allFinite(y.data), `forward, seed ${seed}`).toBe(true);
        const dx = m.backward(tensor(new Float32Array(y.data.length).fill(1), y.shape), { inputGrad: true });
        expect(allFinite(dx!.data), `dx, seed ${seed}`).toBe(true);
        expect(allFinite(m.parameters().grads), `parameter gradients, seed ${seed}`).toBe(true);
        expect(allFinite(m.forward(x, { noGrad: true }).data), `inference forward, seed ${seed}`).toBe(true);
      }
    });
  }

  it('sessions and predict with saturating inputs, and weights scaled up 20x', async () => {
    const m = model(5).eval();
    m.parameters().values.forEach((v, k, a) => { a[k] = v * 20; });
    const x = bigInput(9, 3, 30, 1e4);
    expect(allFinite((await m.predict(x)).data)).toBe(true);
    const s = m.createSession();
    for (let t = 0; t < 30; t++) {
      const step = Array.from(x.data.subarray(t * 4, t * 4 + 4));
      expect(allFinite((await s.step(step)).data), `session step ${t}`).toBe(true);
    }
  });

  it('a training run on 1e4-magnitude inputs keeps finite losses and weights', async () => {
    const m = model(7, false);
    const x = bigInput(11, 16, 12, 1e4);
    const y = tensor(Float32Array.from({ length: 16 * 3 }, (_, k) => (k % 3) - 1), [16, 3]);
    const h = await m.fit({ x, y }, { epochs: 3, batchSize: 4 });
    expect(h.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(allFinite(m.parameters().values)).toBe(true);
  });
});

describe('checkFinite', () => {
  const x = () => bigInput(3, 4, 6, 1);

  it('predict: a NaN or Infinity in x is refused with the first bad index; without the option it is taken as it is', async () => {
    const m = model(1, false).eval();
    const bad = x();
    bad.data[1 * 24 + 2 * 4 + 3] = Number.NaN;   // x[1, 2, 3]
    bad.data[3 * 24] = Number.POSITIVE_INFINITY;
    await expect(m.predict(bad, { checkFinite: true })).rejects.toMatchObject({
      name: 'RangeError', code: 'ERR_LSTM_NON_FINITE', message: 'predict: x[1, 2, 3] must be finite (checkFinite), got NaN' });
    const plain = await m.predict(bad);
    expect(plain.data.some((v) => Number.isNaN(v))).toBe(true);
    const inf = x();
    inf.data[2 * 24 + 5] = Number.NEGATIVE_INFINITY;
    await expect(m.predict(inf, { checkFinite: true })).rejects.toThrow(/x\[2, 1, 1\] must be finite \(checkFinite\), got -Infinity/);
    // Padding past a sequence's length is not input: not checked.
    const padded = x();
    padded.data[5 * 4] = Number.NaN;   // x[0, 5, 0], past lengths[0] = 5
    expect(allFinite((await m.predict(padded, { checkFinite: true, lengths: [5, 6, 6, 6] })).data)).toBe(true);
    await expect(m.predict(x(), { checkFinite: 1 as never })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_LSTM_ARG_TYPE' });
  });

  it('fit and Trainer.trainStep refuse a NaN input before any update', async () => {
    const m = model(1, false);
    const before = m.parameters().values.slice();
    const bad = x();
    bad.data[17] = Number.NaN;   // x[0, 4, 1]
    const y = tensor(new Float32Array(12), [4, 3]);
    await expect(m.fit({ x: bad, y }, { checkFinite: true, batchSize: 2 })).rejects.toMatchObject({
      code: 'ERR_LSTM_NON_FINITE', message: expect.stringMatching(/^fit: .*x\[0, 4, 1\] must be finite \(checkFinite\), got NaN$/) });
    const trainer = new Trainer(m, { checkFinite: true });
    await expect(trainer.trainStep({ x: bad, y })).rejects.toMatchObject({
      code: 'ERR_LSTM_NON_FINITE', message: 'trainer.trainStep: x[0, 4, 1] must be finite (checkFinite), got NaN' });
    expect(m.parameters().values).toEqual(before);
    expect(() => new Trainer(m, { checkFinite: 'yes' as never })).toThrow(/new Trainer: checkFinite must be a boolean, got/);
    await trainer.trainStep({ x: x(), y });
    expect(m.parameters().values).not.toEqual(before);
  });
});
