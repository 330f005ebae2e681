/**
 * The unit-block scheduler of the LSTM step loop (rec::run_block_steps): with the step split by
 * hidden units, each thread runs a range of unit blocks at every step, a barrier between steps, and
 * the thread that finishes a step last moves the next step's cuts towards equal times. Every block
 * must still run every step exactly once, in order, each step after the whole step before, and
 * the LSTM must give the same bits wherever the cuts fall (a block's work does not depend on the
 * range it runs in). A test hook makes the thread with block 0 sleep after each step, so the cuts
 * do move.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';
import { backendInfo, setNumThreads, tensor } from '../../lib/index.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectSameBits, runLstmAll } from '../helpers/lstm-bits.js';

const native = testingNative();
const threads = backendInfo().threads;
afterAll(() => {
  native._setBlockStepsDelay(0);
  setNumThreads(threads);
});

describe('block scheduler', () => {
  // [blocks, slices, steps, delayUs, threads]
  const cases: [number, number, number, number, number][] = [
    [64, 2, 100, 0, 2],
    [64, 2, 100, 300, 2],   // the range with block 0 shrinks towards half of even (16 blocks)
    [10, 3, 60, 200, 3],    // three ranges, three threads
    [37, 2, 50, 200, 1],    // one thread runs both ranges in turn
    [3, 4, 20, 0, 2],       // more ranges than blocks: 3 ranges of 1 block
    [1, 2, 5, 0, 2],        // one block: no split
    [40, 40, 10, 0, 2],     // more ranges than the claim word has bits: one job per step, even cuts
  ];
  for (const [blocks, slices, steps, delay, n] of cases) {
    it(`${blocks} blocks, ${slices} ranges, ${steps} steps, delay ${delay} us, ${n} threads`, () => {
      setNumThreads(n);
      const r = native._blockSteps(blocks, slices, steps, delay);
      expect(r.calls).toBe(blocks * steps);
      expect(r.outOfOrder).toBe(0);
      expect(r.early).toBe(0);
      if (n === 1) expect(r.threads).toBe(1);
      const ranges = Math.min(slices, blocks);
      const even = Math.floor(blocks / ranges);
      if (ranges === 1) {
        expect(r.firstMin).toBe(blocks);
        expect(r.firstMax).toBe(blocks);
      } else if (ranges <= 32) {
        // Never more than half a range away from even.
        expect(r.firstMin).toBeGreaterThanOrEqual(Math.max(1, even - Math.floor(even / 2)));
        expect(r.firstMax).toBeLessThanOrEqual(Math.ceil(blocks / ranges) + Math.floor(even / 2));
      } else {
        expect(r.firstMin).toBe(r.firstMax);  // even cuts: 1 block each
        expect(r.uneven).toBe(0);
      }
      // The range with block 0 sleeps after every step: its thread is the slow one and the cut
      // moves towards block 0.
      if (delay > 0 && even >= 2) {
        expect(r.uneven).toBeGreaterThan(0);
        expect(r.firstMin).toBeLessThan(even);
      }
    });
  }

  it('checks its arguments', () => {
    expect(() => native._blockSteps(0, 1, 1, 0)).toThrow(/blocks/);
    expect(() => native._blockSteps(4, 0, 1, 0)).toThrow(/slices/);
    expect(() => native._setBlockStepsDelay(-1)).toThrow(/us/);
  });
});

describe('LSTM with the unit split cut unevenly', () => {
  // B 6: the steps are split by hidden units (too few rows per thread for the rows split). H 96:
  // 12 forward blocks of 8 units and 6 backward blocks of 16. I 24 folds the input product into
  // the step tile; I 80 hoists it. Inference and the training forward (its stored gates feed the
  // backward, so the gradients must match too), with lengths.
  const T = 40, B = 6, H = 96;
  const lengths = [T, 17, 3, T, 29, 1];

  for (const I of [24, 80]) {
    const next = rng(13 + I);
    const x = tensor(randomArray(Float32Array, T * B * I, next), [T, B, I]);
    const gy = tensor(randomArray(Float32Array, T * B * H, next), [T, B, H]);

    function runAll(delay: number) {
      native._setBlockStepsDelay(delay);
      try {
        return runLstmAll({ I, H, seed: 7, x, gy, lengths });
      } finally {
        native._setBlockStepsDelay(0);
      }
    }

    it(`I ${I}: gives the same bits as one thread`, () => {
      setNumThreads(1);
      const one = runAll(0);
      setNumThreads(2);
      const before = native._blockStepsUneven();
      const two = runAll(200);
      expect(native._blockStepsUneven()).toBeGreaterThan(before);
      expectSameBits(two, one);
    });
  }
});
