/** The generator is xoshiro128** 1.1: its outputs equal the reference C implementation's. */
import { describe, expect, it } from 'vitest';
import { manualSeed, Random } from '../../lib/random.js';
import { expectError } from '../helpers/errors.js';

describe('Random', () => {
  it('matches the reference xoshiro128** from state {1, 2, 3, 4}', () => {
    // Reference values from Blackman and Vigna's xoshiro128starstar.c, compiled and run.
    const r = Random.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });
  it('gives the same stream for a seed and another for another seed', () => {
    const a = new Random(5);
    const b = new Random(5);
    const c = new Random(6);
    const xs = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
  });
  it('rejects an invalid manualSeed', () => {
    expectError(() => manualSeed(-1), RangeError, /^manualSeed: seed must be an integer in \[0, 4294967295\], got the number -1$/);
    expectError(() => manualSeed(1.5), RangeError, /got the number 1.5$/);
  });
});
