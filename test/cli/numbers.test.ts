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

  it('writes the same text as the toPrecision definition (fewest of 7, 8, 9 digits) at every magnitude, ties and powers of ten included', () => {
    const reference = (v: number): string => {
      if (!Number.isFinite(v)) return 'null';
      if (Number.isInteger(v)) return String(v);
      for (let p = 7; p < 9; p++) if (Math.fround(Number(v.toPrecision(p))) === v) return String(Number(v.toPrecision(p)));
      return String(Number(v.toPrecision(9)));
    };
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    const values: number[] = [-471728.125, -1783915.25, 0.5, -2.5e-7, 1e-6, 9.999999e-7, 1e7 - 0.5, 3.4e38, 1.4e-45];
    for (let e = -8; e <= 8; e++) for (const d of [-1, 0, 1]) values.push(Math.fround(10 ** e) + d * Math.fround(10 ** e) * 2 ** -23);
    let s = 11;
    for (let i = 0; i < 200_000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      bits[0] = s;
      values.push(f[0]!, Math.fround((s / 2 ** 32 - 0.5) * 40), Math.fround((s / 2 ** 32 - 0.5) * 2 ** ((i % 60) - 30)));
    }
    const wrong = values.map((v) => Math.fround(v)).filter((v) => float32String(v) !== reference(v));
    expect(wrong.slice(0, 5).map((v) => [v, float32String(v), reference(v)])).toEqual([]);
  });

  it('writes rows as nested arrays', () => {
    expect(float32Json(Float32Array.of(1, 2.5, 3, 4), 2)).toBe('[[1,2.5],[3,4]]');
    expect(float32Json(Float32Array.of())).toBe('[]');
  });
});
