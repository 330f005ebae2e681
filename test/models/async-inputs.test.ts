/**
 * What an async call reads is fixed when the call is made: detaching (transferring) or overwriting
 * the caller's h0, c0 and upstream gradients after forwardAsync / backwardAsync returns its promise
 * changes nothing, even between the native calls of a stacked, bidirectional LSTM (one call per
 * layer and direction). Errors from the engine name the user's call, never a native entry point.
 */
import { describe, expect, it } from 'vitest';
import { LSTM } from '../../lib/layers/lstm.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(1);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);
const copyOf = (t: Tensor): Tensor => ({ data: t.data.slice(), shape: [...t.shape] });
/** Detaches t's buffer (as a transfer to a worker does): t.data then has 0 elements. */
const detach = (t: Tensor): void => {
  const buffer = t.data.buffer as ArrayBuffer;
  structuredClone(buffer, { transfer: [buffer] });
};

describe('async calls own their inputs', () => {
  const options = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, seed: 7 };
  const [T, B] = [30, 4];

  it('forwardAsync: h0 and c0 detached after the call give the sync result', async () => {
    const lstm = new LSTM(options);
    const x = rand([T, B, 3]);
    const h0 = rand([4, B, 5]);
    const c0 = rand([4, B, 5]);
    const expected = lstm.forward(x, { h0, c0 });
    const [xa, ha, ca] = [copyOf(x), copyOf(h0), copyOf(c0)];
    const pending = lstm.forwardAsync(xa, { h0: ha, c0: ca });
    detach(ha);
    detach(ca);
    xa.data.fill(Number.NaN);
    const got = await pending;
    expect(got.output.data).toEqual(expected.output.data);
    expect(got.h.data).toEqual(expected.h.data);
    expect(got.c.data).toEqual(expected.c.data);
  });

  for (const batchFirst of [false, true]) {
    it(`backwardAsync: upstream gradients detached after the call give the sync result (batchFirst ${batchFirst})`, async () => {
      const lstm = new LSTM({ ...options, batchFirst });
      const x = rand(batchFirst ? [B, T, 3] : [T, B, 3]);
      const gy = rand(batchFirst ? [B, T, 10] : [T, B, 10]);
      const gh = rand([4, B, 5]);
      const gc = rand([4, B, 5]);
      lstm.forward(x);
      const expected = lstm.backward({ output: gy, h: gh, c: gc }, { retainGraph: true });
      const expectedGrads = lstm.parameters().grads.slice();
      lstm.zeroGrad();
      const [gya, gha, gca] = [copyOf(gy), copyOf(gh), copyOf(gc)];
      const pending = lstm.backwardAsync({ output: gya, h: gha, c: gca });
      detach(gya);
      detach(gha);
      gca.data.fill(Number.NaN);
      const got = await pending;
      expect(got.x.data).toEqual(expected.x.data);
      expect(got.h0.data).toEqual(expected.h0.data);
      expect(lstm.parameters().grads).toEqual(expectedGrads);
    });
  }
});

describe('errors from the engine', () => {
  it('a batch too large for the kernel names the call, before anything is allocated', async () => {
    // T * 4H = 2^21 * 1024 >= 2^31: the gate buffer could not be indexed (x itself is 8 MB).
    const lstm = new LSTM({ inputSize: 1, hiddenSize: 256 });
    const x = tensor(new Float32Array(2 ** 21), [2 ** 21, 1, 1]);
    const message = /^lstm\.forward: a batch of 1 sequences of 2097152 steps is too large for the kernel \(with hiddenSize 256, every buffer must have fewer than 2\^31 elements\): split the batch or the sequences$/;
    expectError(() => lstm.forward(x), RangeError, message, 'ERR_LSTM_SHAPE');
    expectError(() => lstm.forward(x, { noGrad: true }), RangeError, /^lstm\.forward: a batch of 1 sequences/, 'ERR_LSTM_SHAPE');
    await expect(lstm.forwardAsync(x)).rejects.toMatchObject({ code: 'ERR_LSTM_SHAPE', message: expect.stringMatching(/^lstm\.forwardAsync: a batch/) });
  });
});
