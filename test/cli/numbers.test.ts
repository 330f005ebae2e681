/** Output numbers: short decimals that read back as the same float32. */
import { describe, expect, it } from 'vitest';
import { float32Json, float32String } from '../../lib/cli/numbers.js';

describe('float32String', () => {
  it('round-trips every float32 it writes and keeps short values short', () => {
    const data = new Float32Array(20000);
    let s = 7;
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      data[i] = (s / 2147483648 - 0.5) * 10 ** ((i % 13) - 6);
    }
    for (const v of data) expect(Math.fround(Number(float32String(v)))).toBe(v);
    expect(float32String(Math.fround(0.1))).toBe('0.1');
    expect(float32String(3)).toBe('3');
    expect(float32String(-0.5)).toBe('-0.5');
    expect(float32String(Math.fround(1 / 3))).toBe('0.33333334');
    expect(float32String(NaN)).toBe('null');
  });

  it('writes rows as nested arrays', () => {
    expect(float32Json(Float32Array.of(1, 2.5, 3, 4), 2)).toBe('[[1,2.5],[3,4]]');
    expect(float32Json(Float32Array.of())).toBe('[]');
  });
});
