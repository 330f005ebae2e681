/**
 * The pool's threads do not sleep between the jobs of one LSTM kernel call (PoolBurst,
 * thread_pool.h): every sleep ends in a wake-up, and a woken thread tends to land on the CPU of
 * the thread that woke it, so the caller and a worker would share a core for a while. With the
 * spin budget at 0 (workers and callers sleep as soon as they have nothing to do), a kernel call
 * that runs many jobs must still see no caller go to sleep, and a worker at most once per kernel
 * call (after the call, outside the burst), plus once for the call before the counters were read
 * (a worker still spinning after it when the budget drops to 0 goes to sleep in the window). The
 * results are the same bits either way.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';
import { LSTM, backendInfo, setNumThreads, tensor } from '../../lib/index.js';
import { randomArray, rng } from '../helpers/compare.js';

const native = testingNative();
const threads = backendInfo().threads;
afterAll(() => {
  native._setPoolSpinUs(50);
  setNumThreads(threads);
});

describe('pool threads stay awake through an LSTM call', () => {
  // B 256, H 64: inference hoists the input product in 2 chunks of 32 steps (T 40), each chunk a
  // product and a step job; training runs the product, the steps, then the backward's jobs.
  const [I, H, B, T, L] = [48, 64, 256, 40, 2];
  const make = () => {
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 3 });
    const x = tensor(randomArray(Float32Array, T * B * I, rng(5)), [T, B, I]);
    return { lstm, x };
  };
  const calls = 3;

  it('inference: no caller sleeps, workers sleep at most once per layer call (+1)', () => {
    setNumThreads(2);
    const { lstm, x } = make();
    lstm.eval();
    native._setPoolSpinUs(50);
    const expected = lstm.forward(x, { noGrad: true }).output.data.slice();
    native._setPoolSpinUs(0);
    const before = native._poolSleeps();
    for (let i = 0; i < calls; i++) {
      const y = lstm.forward(x, { noGrad: true }).output.data;
      expect(Buffer.from(y.buffer, y.byteOffset, y.byteLength)
        .equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(true);
    }
    const after = native._poolSleeps();
    native._setPoolSpinUs(50);
    expect(after.callers - before.callers).toBe(0);
    expect(after.workers - before.workers).toBeLessThanOrEqual(calls * L + 1);
  });

  it('training forward and backward: no caller sleeps, workers sleep at most once per kernel call (+1)', () => {
    setNumThreads(2);
    const { lstm, x } = make();
    lstm.train();
    const dy = tensor(randomArray(Float32Array, T * B * H, rng(7)), [T, B, H]);
    native._setPoolSpinUs(0);
    const before = native._poolSleeps();
    for (let i = 0; i < calls; i++) {
      lstm.zeroGrad();
      lstm.forward(x);
      lstm.backward({ output: dy });
    }
    const after = native._poolSleeps();
    native._setPoolSpinUs(50);
    expect(after.callers - before.callers).toBe(0);
    // per call: L forward and L backward kernel calls
    expect(after.workers - before.workers).toBeLessThanOrEqual(calls * 2 * L + 1);
  });
});
