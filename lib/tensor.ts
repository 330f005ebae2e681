/**
 * The small shaped-array type used everywhere: a typed array and the dims it holds, row-major
 * (the last dim varies fastest), with no strides and no views. `tensor()` builds one, `checkTensor()`
 * is the one argument check every layer uses for its inputs.
 */
import { describe, formatShape, rangeError, typeError } from './errors.js';

/** The typed arrays a tensor may hold (the ones safetensors can store). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array;

/** The constructor of one of the {@link TensorData} classes (`Float32Array`, `BigInt64Array`, ...). */
export type TensorDataConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** A row-major shaped array: `data.length === numel(shape)`; `shape` `[]` is a scalar. */
export interface Tensor<D extends TensorData = Float32Array> {
  data: D;
  shape: number[];
}

const TENSOR_DATA_CLASSES: readonly TensorDataConstructor[] = [
  Float32Array, Float64Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array,
  Uint8Array, BigInt64Array, BigUint64Array,
];

/**
 * True when `value` is an instance of one of the {@link TensorData} classes. A Node `Buffer` counts as
 * a Uint8Array; `Uint8ClampedArray` and `DataView` do not count.
 */
export function isTensorData(value: unknown): value is TensorData {
  if (!ArrayBuffer.isView(value)) return false;
  for (const C of TENSOR_DATA_CLASSES) if (value instanceof C) return true;
  return false;
}

/** Number of elements of a tensor of this shape: the product of its dims (1 for the scalar shape `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when `shape` is an array of non-negative safe integers. */
function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/**
 * The valid steps of each sequence in a batch (B entries, each in [0, T]): an array of numbers, an
 * Int32Array or BigInt64Array, or a tensor of shape [B] holding one of those two.
 */
export type SequenceLengths = ArrayLike<number> | Int32Array | BigInt64Array | Tensor<Int32Array> | Tensor<BigInt64Array>;

/**
 * Checks sequence lengths against the batch: B integers in [0, T]; returns them as an Int32Array.
 * TypeError for a value of the wrong kind (a string entry included), RangeError for a wrong count or
 * an entry outside [0, T].
 */
export function checkLengths(where: string, value: unknown, B: number, T: number): Int32Array {
  let values: ArrayLike<unknown>;
  if (value !== null && typeof value === 'object' && 'data' in value && 'shape' in value) {
    const t = value as Tensor<TensorData>;
    if (!(t.data instanceof Int32Array || t.data instanceof BigInt64Array)) {
      throw typeError(`${where}: lengths.data must be an Int32Array or BigInt64Array, got ${describe(t.data)}`);
    }
    if (!Array.isArray(t.shape) || t.shape.length !== 1 || t.shape[0] !== B || t.data.length !== B) {
      const got = Array.isArray(t.shape) ? formatLoose(t.shape) : describe(t.shape);
      throw rangeError(`${where}: lengths must have shape [${B}] (B), got ${got}`, 'ERR_LSTM_SHAPE');
    }
    values = t.data;
  } else if (Array.isArray(value) || value instanceof Int32Array || value instanceof BigInt64Array ||
    value instanceof Float64Array || value instanceof Float32Array || value instanceof Uint32Array) {
    values = value as ArrayLike<unknown>;
  } else {
    throw typeError(`${where}: lengths must be an array of B integers, an Int32Array or a BigInt64Array, got ${describe(value)}`);
  }
  if (values.length !== B) {
    throw rangeError(`${where}: lengths must have ${B} entries (B), got ${values.length}`, 'ERR_LSTM_SHAPE');
  }
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const v = values[b];
    if (typeof v !== 'number' && typeof v !== 'bigint') {
      throw typeError(`${where}: lengths[${b}] must be an integer in [0, ${T}] (T), got ${describe(v)}`);
    }
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (!Number.isInteger(n) || n < 0 || n > T) {
      throw rangeError(`${where}: lengths[${b}] must be an integer in [0, ${T}] (T), got ${String(v)}`);
    }
    out[b] = n;
  }
  return out;
}

/**
 * Checks a caller's shape argument and returns a copy: TypeError when it is not an array of numbers,
 * RangeError when a dim is negative or not an integer, or the element count is not a safe integer.
 * @example checkShape('zeros', 'shape', [2, 3]) // [2, 3]
 */
export function checkShape(where: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) {
    throw typeError(`${where}: ${name} must be an array of non-negative integers, got ${describe(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number') {
      throw typeError(`${where}: ${name}[${i}] must be a non-negative integer, got ${describe(d)}`);
    }
    if (!Number.isSafeInteger(d) || d < 0) {
      throw rangeError(`${where}: ${name}[${i}] must be a non-negative integer, got ${describe(d)}`);
    }
  }
  const dims = shape as number[];
  if (!Number.isSafeInteger(numel(dims))) {
    throw rangeError(`${where}: ${name} ${formatShape(dims)} has too many elements`);
  }
  return [...dims];
}

/**
 * True when `x` looks like a tensor: an object whose `data` is one of the {@link TensorData} typed
 * arrays and whose `shape` is an array of non-negative integers. Structural only: it does not check
 * that `data.length === numel(shape)` (`checkTensor` does).
 */
export function isTensor(x: unknown): x is Tensor<TensorData> {
  if (x === null || typeof x !== 'object') return false;
  const t = x as { data?: unknown; shape?: unknown };
  return isTensorData(t.data) && isShape(t.shape);
}

/**
 * Makes a float32 tensor. A Float32Array is used as is (not copied); any other array of numbers
 * (a plain Array, a Float64Array, an Int32Array, ...) is copied into a new Float32Array. `shape`
 * defaults to `[data.length]` and is copied; its element count must equal `data.length`.
 * @example tensor([1, 2, 3, 4, 5, 6], [2, 3])
 */
export function tensor(data: ArrayLike<number> | Float32Array, shape?: number[]): Tensor<Float32Array> {
  const where = 'tensor';
  let values: Float32Array;
  if (data instanceof Float32Array) {
    values = data;
  } else if (ArrayBuffer.isView(data)) {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array || data instanceof DataView) {
      throw typeError(`${where}: data must be a Float32Array or an array of numbers, got ${describe(data)}`);
    }
    values = Float32Array.from(data as ArrayLike<number>);
  } else if (data !== null && typeof data === 'object' && Number.isSafeInteger((data as { length?: unknown }).length)
    && (data as { length: number }).length >= 0) {
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const v: unknown = data[i];
      if (typeof v !== 'number') {
        const hint = Array.isArray(v) || ArrayBuffer.isView(v) ? ' (flatten nested arrays and pass the shape)' : '';
        throw typeError(`${where}: data[${i}] must be a number, got ${describe(v)}${hint}`);
      }
    }
    values = Float32Array.from(data);
  } else {
    throw typeError(`${where}: data must be a Float32Array or an array of numbers, got ${describe(data)}`);
  }
  const dims = shape === undefined ? [values.length] : checkShape(where, 'shape', shape);
  const n = numel(dims);
  if (n !== values.length) {
    throw rangeError(`${where}: shape ${formatShape(dims)} has ${n} elements, but data has ${values.length}`, 'ERR_LSTM_SHAPE');
  }
  return { data: values, shape: dims };
}

/** Makes a float32 tensor of this shape filled with zeros. */
export function zeros(shape: number[]): Tensor<Float32Array> {
  const dims = checkShape('zeros', 'shape', shape);
  return { data: new Float32Array(numel(dims)), shape: dims };
}

/** Formats an array that should have been a shape, for an error message: `[2, -1]`, `[2, "3"]`. */
function formatLoose(values: readonly unknown[]): string {
  const text = `[${values.map((v) => (typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v) : describe(v))).join(', ')}]`;
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Formats an expected shape: numbers as is, a string dim as its letter, a free (`null`) dim as `*`. */
function formatExpected(expected: readonly (number | string | null)[]): string {
  return `[${expected.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
}

/**
 * The argument check for a tensor input; returns the value typed. Throws
 * - TypeError when `value` is not a `{data, shape}` object, when `data` is not a `dtype` array, or
 *   when `shape` is not an array of non-negative integers;
 * - RangeError `${where}: ${name} must have shape [T, B, 32] (hint), got [10, 4, 31]` when the rank or
 *   a fixed dim differs from `expectedShape`, and when `data.length !== numel(shape)`.
 *
 * In `expectedShape` a number is a fixed size; `null` or a string is any size, printed as `*` or as
 * the string (`['T', 'B', 32]` prints `[T, B, 32]`).
 * @example checkTensor('lstm.forward', 'x', x, ['T', 'B', inputSize], Float32Array, `inputSize ${inputSize}`)
 */
export function checkTensor<C extends TensorDataConstructor = Float32ArrayConstructor>(
  where: string,
  name: string,
  value: unknown,
  expectedShape: readonly (number | string | null)[],
  dtype: C = Float32Array as C,
  hint?: string,
): Tensor<InstanceType<C>> {
  const kind = dtype.name;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || !('data' in value) || !('shape' in value)) {
    const wrap = ArrayBuffer.isView(value) || Array.isArray(value) ? ' (wrap it with tensor(data, shape))' : '';
    throw typeError(`${where}: ${name} must be a tensor {data: ${kind}, shape: number[]}, got ${describe(value)}${wrap}`);
  }
  const { data, shape } = value as { data: unknown; shape: unknown };
  if (!(data instanceof dtype)) {
    throw typeError(`${where}: ${name}.data must be a ${kind}, got ${describe(data)}`);
  }
  if (!isShape(shape)) {
    const got = Array.isArray(shape) ? formatLoose(shape) : describe(shape);
    const message = `${where}: ${name}.shape must be an array of non-negative integers, got ${got}`;
    // The wrong kind of value is a TypeError; numbers that are negative, fractional or unsafe a RangeError.
    throw Array.isArray(shape) && shape.every((d) => typeof d === 'number') ? rangeError(message, 'ERR_LSTM_SHAPE') : typeError(message);
  }
  let matches = shape.length === expectedShape.length;
  for (let i = 0; matches && i < shape.length; i++) {
    const e = expectedShape[i];
    if (typeof e === 'number' && e !== shape[i]) matches = false;
  }
  if (!matches) {
    const because = hint === undefined ? '' : ` (${hint})`;
    throw rangeError(`${where}: ${name} must have shape ${formatExpected(expectedShape)}${because}, got ${formatShape(shape)}`,
      'ERR_LSTM_SHAPE');
  }
  const n = numel(shape);
  const length = (data as unknown as { length: number }).length;
  if (length !== n) {
    // A transferred (detached) buffer reads as 0 elements: say so rather than blame the shape.
    const detached = length === 0 && (data as unknown as ArrayBufferView).buffer.byteLength === 0 && n > 0
      ? ' (its ArrayBuffer was detached: transferred to a worker or by structuredClone)' : '';
    throw rangeError(`${where}: ${name} has shape ${formatShape(shape)} (${n} elements), but its data has ${length} elements${detached}`,
      'ERR_LSTM_SHAPE');
  }
  return value as Tensor<InstanceType<C>>;
}
