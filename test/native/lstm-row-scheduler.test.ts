/**
 * The row scheduler of the LSTM step loop (rec::run_row_steps): with the step split by batch rows,
 * a thread that runs out of rows takes half of the rows of the busiest other thread, from that
 * thread's next step on. Every row must still run every step exactly once and in order, and the
 * LSTM must give the same bits however its rows end up split (every register tile keeps 3 rows or
 * more). A test hook makes the thread that runs row 0 sleep after each step, so rows do move.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';
import { backendInfo, setNumThreads, tensor } from '../../lib/index.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectSameBits, runLstmAll } from '../helpers/lstm-bits.js';

const native = testingNative();
const threads = backendInfo().threads;
afterAll(() => {
  native._setRowStepsDelay(0);
  setNumThreads(threads);
});

describe('row scheduler', () => {
  // [rows, slices, steps, minRows, delayUs, threads]
  const cases: [number, number, number, number, number, number][] = [
    [37, 2, 60, 4, 0, 2],
    [37, 2, 200, 4, 300, 2],     // rows move: 18/19, then halves of the slow range
    [64, 3, 100, 4, 300, 2],     // more ranges than threads
    [16, 2, 50, 8, 200, 2],      // ranges of 8 may not be cut below 8
    [9, 4, 30, 4, 100, 3],       // ranges smaller than minRows from the start
    [37, 3, 60, 4, 100, 1],      // one thread runs every range in turn
    [5, 2, 1, 1, 0, 2],          // one step: nothing to hand over
  ];
  for (const [rows, slices, steps, minRows, delay, n] of cases) {
    it(`${rows} rows, ${slices} ranges, ${steps} steps, min ${minRows} rows, delay ${delay} us, ${n} threads`, () => {
      setNumThreads(n);
      const r = native._rowSteps(rows, slices, steps, minRows, delay);
      expect(r.calls).toBe(rows * steps);
      expect(r.outOfOrder).toBe(0);
      const initial = Math.floor(rows / slices);
      expect(r.smallestRange).toBeGreaterThanOrEqual(Math.min(minRows, initial));
      if (n === 1) {
        expect(r.threads).toBe(1);
        expect(r.handovers).toBe(0);
      }
      // A slow row 0 for 60-200 steps: the other thread is done long before and takes rows over.
      if (n > 1 && delay > 0 && steps >= 100) {
        expect(r.handovers).toBeGreaterThan(0);
        expect(r.threads).toBeGreaterThan(1);
      }
    });
  }

  it('checks its arguments', () => {
    expect(() => native._rowSteps(0, 1, 1, 1, 0)).toThrow(/rows/);
    expect(() => native._setRowStepsDelay(-1)).toThrow(/us/);
  });
});

describe('LSTM forward with rows moving between threads', () => {
  // B 48, H 64: the step is split by batch rows on 2 threads (24 each), and rows are handed over
  // while the thread with row 0 sleeps. Inference and the training forward (its stored gates feed
  // the backward, so the gradients must match too), with lengths.
  const next = rng(11);
  const T = 40, B = 48, I = 24, H = 64;
  const x = tensor(randomArray(Float32Array, T * B * I, next), [T, B, I]);
  const lengths = Array.from({ length: B }, (_, b) => (b % 5 === 0 ? T : 1 + ((b * 7) % T)));
  const gy = tensor(randomArray(Float32Array, T * B * H, next), [T, B, H]);

  function runAll(delay: number) {
    native._setRowStepsDelay(delay);
    try {
      return runLstmAll({ I, H, seed: 5, x, gy, lengths });
    } finally {
      native._setRowStepsDelay(0);
    }
  }

  it('gives the same bits as one thread', () => {
    setNumThreads(1);
    const one = runAll(0);
    setNumThreads(2);
    const before = native._rowStepsHandovers();
    const two = runAll(300);
    expect(native._rowStepsHandovers()).toBeGreaterThan(before);
    expectSameBits(two, one);
  });
});
