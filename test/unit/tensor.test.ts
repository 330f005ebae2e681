import { describe, expect, it } from 'vitest';
import { checkShape, checkTensor, isTensor, isTensorData, numel, tensor, zeros } from '../../lib/tensor.js';

/** Runs `fn`, expects it to throw, and returns the error for assertions on class, message and code. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

describe('tensor()', () => {
  it('copies a plain array into a Float32Array with the given shape', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.shape).toEqual([2, 3]);
  });

  it('uses a Float32Array as is, without copying', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = tensor(data);
    expect(t.data).toBe(data);
    expect(t.shape).toEqual([3]);
  });

  it('copies other typed arrays into a new Float32Array, rounding to float32', () => {
    const data = new Float64Array([0.1, 2]);
    const t = tensor(data, [2, 1]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data[0]).toBe(Math.fround(0.1));
    expect(t.shape).toEqual([2, 1]);
    expect(Array.from(tensor(new Int32Array([-3, 4])).data)).toEqual([-3, 4]);
  });

  it('copies the shape, so later changes to the caller array do not leak in', () => {
    const shape = [2, 2];
    const t = tensor([1, 2, 3, 4], shape);
    shape[0] = 9;
    expect(t.shape).toEqual([2, 2]);
  });

  it('accepts the scalar shape [] for one element and zero-sized shapes for none', () => {
    expect(tensor([5], []).shape).toEqual([]);
    expect(tensor([], [0, 3]).data.length).toBe(0);
  });

  it('rejects a shape whose element count differs from the data length, naming both', () => {
    const err = thrown(() => tensor([1, 2, 3], [2, 2]));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('tensor: shape [2, 2] has 4 elements, but data has 3');
    expect(err.code).toBe('ERR_LSTM_SHAPE');
  });

  it('rejects data that is not an array of numbers', () => {
    let err = thrown(() => tensor(['a'] as unknown as number[]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('tensor: data[0] must be a number, got the string "a"');
    expect(err.code).toBe('ERR_LSTM_ARG_TYPE');

    err = thrown(() => tensor([[1, 2], [3, 4]] as unknown as number[]));
    expect(err.message).toBe('tensor: data[0] must be a number, got an Array of 2 elements (flatten nested arrays and pass the shape)');

    err = thrown(() => tensor(new BigInt64Array(2) as unknown as number[]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('tensor: data must be a Float32Array or an array of numbers, got a BigInt64Array of 2 elements');

    err = thrown(() => tensor(null as unknown as number[]));
    expect(err.message).toBe('tensor: data must be a Float32Array or an array of numbers, got null');
    err = thrown(() => tensor('abc' as unknown as number[]));
    expect(err.message).toBe('tensor: data must be a Float32Array or an array of numbers, got the string "abc"');
  });

  it('rejects bad shapes with the dim that is wrong', () => {
    let err = thrown(() => tensor([1, 2], [2, -1]));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('tensor: shape[1] must be a non-negative integer, got the number -1');
    expect(err.code).toBe('ERR_LSTM_ARG_RANGE');

    err = thrown(() => tensor([1, 2], [1.5]));
    expect(err.message).toBe('tensor: shape[0] must be a non-negative integer, got the number 1.5');

    err = thrown(() => tensor([1, 2], [1, '2'] as unknown as number[]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('tensor: shape[1] must be a non-negative integer, got the string "2"');

    err = thrown(() => tensor([1, 2], 'x' as unknown as number[]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('tensor: shape must be an array of non-negative integers, got the string "x"');
  });
});

describe('zeros(), numel(), checkShape()', () => {
  it('zeros makes a zero-filled float32 tensor of that shape', () => {
    const t = zeros([2, 3]);
    expect(t.data).toEqual(new Float32Array(6));
    expect(t.shape).toEqual([2, 3]);
    expect(zeros([]).data.length).toBe(1);
    expect(zeros([4, 0]).data.length).toBe(0);
  });

  it('zeros rejects a bad shape', () => {
    const err = thrown(() => zeros([3, -2]));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('zeros: shape[1] must be a non-negative integer, got the number -2');
  });

  it('numel is the product of the dims, 1 for a scalar', () => {
    expect(numel([10, 4, 32])).toBe(1280);
    expect(numel([])).toBe(1);
    expect(numel([3, 0, 2])).toBe(0);
  });

  it('checkShape returns a copy and rejects element counts past 2^53', () => {
    const shape = [2, 3];
    expect(checkShape('f', 's', shape)).toEqual([2, 3]);
    expect(checkShape('f', 's', shape)).not.toBe(shape);
    const err = thrown(() => checkShape('f', 's', [2 ** 30, 2 ** 30]));
    expect(err.message).toBe('f: s [1073741824, 1073741824] has too many elements');
  });
});

describe('isTensor() and isTensorData()', () => {
  it('accepts {data, shape} with a supported typed array and a valid shape', () => {
    expect(isTensor({ data: new Float32Array(6), shape: [2, 3] })).toBe(true);
    expect(isTensor({ data: new BigInt64Array(1), shape: [] })).toBe(true);
    expect(isTensor(tensor([1, 2]))).toBe(true);
  });

  it('is structural only: a length mismatch still counts as a tensor', () => {
    expect(isTensor({ data: new Float32Array(5), shape: [2, 3] })).toBe(true);
  });

  it('rejects everything else', () => {
    expect(isTensor(null)).toBe(false);
    expect(isTensor(new Float32Array(3))).toBe(false);
    expect(isTensor({ data: [1, 2], shape: [2] })).toBe(false);
    expect(isTensor({ data: new Uint8ClampedArray(2), shape: [2] })).toBe(false);
    expect(isTensor({ data: new Float32Array(2), shape: [-2] })).toBe(false);
    expect(isTensor({ data: new Float32Array(2) })).toBe(false);
    expect(isTensorData(new DataView(new ArrayBuffer(4)))).toBe(false);
    expect(isTensorData(Buffer.alloc(2))).toBe(true);
  });
});

describe('checkTensor()', () => {
  const x = (shape: number[], n = numel(shape)) => ({ data: new Float32Array(n), shape });

  it('returns the value when the class and shape match, with free dims by letter or null', () => {
    const v = x([10, 4, 32]);
    expect(checkTensor('lstm.forward', 'x', v, ['T', 'B', 32])).toBe(v);
    expect(checkTensor('lstm.forward', 'x', v, [null, null, 32])).toBe(v);
    expect(checkTensor('lstm.forward', 'x', v, [10, 4, 32])).toBe(v);
    const lengths = { data: new BigInt64Array(4), shape: [4] };
    const checked = checkTensor('lstm.forward', 'lengths', lengths, ['B'], BigInt64Array);
    expect(checked.data).toBeInstanceOf(BigInt64Array);
  });

  it('names the expected and the received shape, with the hint', () => {
    let err = thrown(() => checkTensor('lstm.forward', 'x', x([10, 4, 31]), [10, 4, 32], Float32Array, 'hint'));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('lstm.forward: x must have shape [10, 4, 32] (hint), got [10, 4, 31]');
    expect(err.code).toBe('ERR_LSTM_SHAPE');

    err = thrown(() => checkTensor('lstm.forward', 'x', x([10, 4, 31]), ['T', 'B', 32], Float32Array, 'inputSize 32'));
    expect(err.message).toBe('lstm.forward: x must have shape [T, B, 32] (inputSize 32), got [10, 4, 31]');

    err = thrown(() => checkTensor('lstm.forward', 'x', x([10, 31]), [null, null, 32]));
    expect(err.message).toBe('lstm.forward: x must have shape [*, *, 32], got [10, 31]');
  });

  it('rejects data whose length does not match its own shape', () => {
    const err = thrown(() => checkTensor('lstm.forward', 'x', x([2, 3], 5), [2, 3]));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('lstm.forward: x has shape [2, 3] (6 elements), but its data has 5 elements');
    expect(err.code).toBe('ERR_LSTM_SHAPE');
  });

  it('rejects the wrong typed-array class', () => {
    let err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float64Array(6), shape: [2, 3] }, [2, 3]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('lstm.forward: x.data must be a Float32Array, got a Float64Array of 6 elements');
    expect(err.code).toBe('ERR_LSTM_ARG_TYPE');

    err = thrown(() => checkTensor('f', 'lengths', x([4]), ['B'], BigInt64Array));
    expect(err.message).toBe('f: lengths.data must be a BigInt64Array, got a Float32Array of 4 elements');
  });

  it('rejects values that are not {data, shape}', () => {
    let err = thrown(() => checkTensor('lstm.forward', 'x', new Float32Array(6), [2, 3]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('lstm.forward: x must be a tensor {data: Float32Array, shape: number[]}, '
      + 'got a Float32Array of 6 elements (wrap it with tensor(data, shape))');

    err = thrown(() => checkTensor('lstm.forward', 'x', null, [2, 3]));
    expect(err.message).toBe('lstm.forward: x must be a tensor {data: Float32Array, shape: number[]}, got null');

    err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float32Array(2) }, [2]));
    expect(err.message).toBe('lstm.forward: x must be a tensor {data: Float32Array, shape: number[]}, got an object');

    // A number that is not a valid dim is a RangeError; a value of the wrong kind a TypeError.
    err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float32Array(2), shape: [2, -1] }, [2]));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('lstm.forward: x.shape must be an array of non-negative integers, got [2, -1]');
    expect((err as { code?: string }).code).toBe('ERR_LSTM_SHAPE');
    err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float32Array(2), shape: [2 ** 53] }, [2]));
    expect(err).toBeInstanceOf(RangeError);
    err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float32Array(2), shape: [2, '1'] }, [2]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('lstm.forward: x.shape must be an array of non-negative integers, got [2, "1"]');

    err = thrown(() => checkTensor('lstm.forward', 'x', { data: new Float32Array(2), shape: '2' }, [2]));
    expect(err.message).toBe('lstm.forward: x.shape must be an array of non-negative integers, got the string "2"');
  });
});
