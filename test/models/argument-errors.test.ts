/**
 * Bad arguments to init, Random, the layers and tensors give a coded TypeError or RangeError naming
 * the argument, never a raw engine error, a silent seed 0 or a NaN fill (issue 24, findings 6 and 8,
 * the parts outside lib/io).
 */
import { describe, expect, it } from 'vitest';
import * as init from '../../lib/init.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Linear } from '../../lib/layers/linear.js';
import { manualSeed, Random } from '../../lib/random.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { expectError } from '../helpers/errors.js';

const t = (rows: number, cols: number): Tensor => ({ data: new Float32Array(rows * cols), shape: [rows, cols] });

describe('init', () => {
  it('names a tensor that is not one', () => {
    expectError(() => init.uniform(null as never, -1, 1), TypeError,
      /^init.uniform: tensor must be a tensor \{data: Float32Array, shape: number\[\]\}, got null$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => init.constant(new Float32Array(4) as never, 0), TypeError, /^init.constant: tensor must be a tensor .* \(wrap it with tensor\(data, shape\)\)$/);
    expectError(() => init.normal({ data: new Float64Array(4), shape: [4] } as never), TypeError,
      /^init.normal: tensor.data must be a Float32Array, got a Float64Array of 4 elements$/);
  });

  it('refuses NaN and infinite bounds, means, deviations, gains and values instead of filling NaN', () => {
    const w = t(4, 4);
    expectError(() => init.uniform(w, Number.NaN, 1), RangeError, /^init.uniform: low must be a finite number, got the number NaN$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => init.uniform(w, -1, Infinity), RangeError, /^init.uniform: high must be a finite number, got the number Infinity$/);
    expectError(() => init.uniform(w, 1, -1), RangeError, /^init.uniform: low must be <= high, got low 1 and high -1$/);
    expectError(() => init.normal(w, Number.NaN), RangeError, /^init.normal: mean must be a finite number, got the number NaN$/);
    expectError(() => init.normal(w, 0, -1), RangeError, /^init.normal: std must be a finite number >= 0, got the number -1$/);
    expectError(() => init.constant(w, Number.NaN), RangeError, /^init.constant: value must be a finite number, got the number NaN$/);
    expectError(() => init.xavierUniform(w, { gain: Number.NaN }), RangeError, /^init.xavierUniform: gain must be a finite number >= 0, got the number NaN$/);
    expectError(() => init.orthogonal(w, { gain: Infinity }), RangeError, /^init.orthogonal: gain must be a finite number >= 0/);
    expectError(() => init.kaimingUniform(w, { a: Number.NaN }), RangeError, /^init.kaimingUniform: a must be a finite number, got the number NaN$/);
    expectError(() => init.uniform(w, '0' as never, 1), TypeError, /^init.uniform: low must be a number, got the string "0"$/);
    expect(w.data.every((v) => v === 0)).toBe(true);
  });

  it('names a bad rng and an unknown option, and an option the function does not use', () => {
    expectError(() => init.uniform(t(2, 2), -1, 1, { rng: 42 as never }), TypeError,
      /^init.uniform: rng must be a Random \(new Random\(seed\)\), got the number 42$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => init.normal(t(2, 2), 0, 1, { rng: Math.random } as never), TypeError, /^init.normal: rng must be a Random/);
    expectError(() => init.xavierNormal(t(2, 2), { gian: 2 } as never), RangeError, /^init.xavierNormal: unknown option "gian" \(did you mean "gain"\?\)/);
    expectError(() => init.kaimingUniform(t(2, 2), { gain: 2 } as never), RangeError, /^init.kaimingUniform: unknown option "gain"/);
  });

  it('says a detached array was detached', () => {
    const w = t(2, 2);
    const buffer = w.data.buffer as ArrayBuffer;
    structuredClone(buffer, { transfer: [buffer] });
    expectError(() => init.constant(w, 1), RangeError,
      /^init.constant: tensor has shape \[2, 2\] \(4 elements\), but its data has 0 elements \(its ArrayBuffer was detached: transferred to a worker or by structuredClone\)$/,
      'ERR_LSTM_SHAPE');
  });
});

describe('Random and manualSeed', () => {
  it('refuse a seed that is NaN, a string or out of range instead of acting as seed 0', () => {
    expectError(() => new Random(Number.NaN), RangeError, /^new Random: seed must be an integer in \[0, 4294967295\], got the number NaN$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => new Random('abc' as never), TypeError, /^new Random: seed must be an integer >= 0, got the string "abc"$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => new Random(-1), RangeError, /got the number -1$/);
    expectError(() => new Random(2 ** 32), RangeError, /got the number 4294967296$/);
    expectError(() => manualSeed(Number.NaN), RangeError, /^manualSeed: seed must be an integer in \[0, 4294967295\], got the number NaN$/);
    expectError(() => manualSeed('1' as never), TypeError, /^manualSeed: seed must be an integer >= 0, got the string "1"$/);
    expect(new Random(0xffffffff).nextUint32()).toBe(new Random(0xffffffff).nextUint32());
  });
});

describe('layers', () => {
  it('say which sizes cannot be allocated, with a code, instead of "Invalid typed array length"', () => {
    expectError(() => new LSTM({ inputSize: 10000, hiddenSize: 50000 }), RangeError,
      /^new LSTM: cannot allocate 12000400000 parameters and their gradients \(89\.4 GiB\): .*; use smaller sizes$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => new Linear({ inFeatures: 2 ** 26, outFeatures: 2 ** 26 }), RangeError, /^new Linear: cannot allocate 4503599694479360 parameters/,
      'ERR_LSTM_ARG_RANGE');
  });

  it('setForgetGateBias(NaN) asks for a finite number without printing [-Infinity, Infinity]', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    expectError(() => lstm.setForgetGateBias(Number.NaN), RangeError, /^lstm.setForgetGateBias: value must be a finite number, got the number NaN$/,
      'ERR_LSTM_ARG_RANGE');
  });

  it('lengths with a string entry are a TypeError that shows the string', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    expectError(() => lstm.forward(tensor(new Float32Array(3 * 2 * 2), [3, 2, 2]), { lengths: ['2', 1] as never }), TypeError,
      /^lstm.forward: lengths\[0\] must be an integer in \[0, 3\] \(T\), got the string "2"$/, 'ERR_LSTM_ARG_TYPE');
  });

  it('a negative or unsafe shape entry is a RangeError, a non-number one a TypeError', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    expectError(() => lstm.forward({ data: new Float32Array(4), shape: [2, -1, 2] }), RangeError,
      /^lstm.forward: x.shape must be an array of non-negative integers, got \[2, -1, 2\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => lstm.forward({ data: new Float32Array(4), shape: [2 ** 53, 1, 2] }), RangeError, /x.shape must be an array of non-negative integers/);
    expectError(() => lstm.forward({ data: new Float32Array(4), shape: [2, null, 2] as never }), TypeError,
      /^lstm.forward: x.shape must be an array of non-negative integers, got \[2, null, 2\]$/, 'ERR_LSTM_ARG_TYPE');
  });
});
