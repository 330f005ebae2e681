/**
 * Checks one time step's input for a session or a sequence row: a token id for a model that starts
 * with an Embedding, else a vector of feature values. Every error names the argument, what was
 * expected and what came in, so one bad row or step never reaches the kernel.
 * @internal
 */
import { describe, rangeError, typeError } from '../errors.js';
import type { StepInput } from './stepper.js';

/** A token id: an integer in [0, vocabSize). */
export function checkToken(where: string, name: string, value: unknown, vocabSize: number): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number') throw typeError(`${where}: ${name} must be a token id (an integer), got ${describe(value)}`);
  if (!Number.isInteger(n) || n < 0 || n >= vocabSize) {
    throw rangeError(`${where}: ${name} must be a token id in [0, ${vocabSize}) (the vocabulary), got ${String(value)}`);
  }
  return n;
}

/** Copies `size` finite feature values from `value` (an array or typed array) into `out` at `at`. */
export function copyFeatures(where: string, name: string, value: unknown, size: number, out: Float32Array, at: number): void {
  const isArrayLike = Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView)
    && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array));
  if (!isArrayLike) throw typeError(`${where}: ${name} must be an array of ${size} numbers, got ${describe(value)}`);
  const v = value as ArrayLike<unknown>;
  if (v.length !== size) throw rangeError(`${where}: ${name} must have ${size} features, got ${v.length}`, 'ERR_LSTM_SHAPE');
  for (let i = 0; i < size; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw (typeof x === 'number' ? rangeError : typeError)(`${where}: ${name}[${i}] must be a finite number, got ${describe(x)}`);
    }
    out[at + i] = x;
  }
}

/**
 * One step's input for a session: a token id (a number, or a 1-element array or tensor) for a token
 * model, else `size` features (an array, a typed array, or a tensor of shape [size] or [1, size]).
 * Writes into `tokens[at]` or `features[at * size ...]`.
 */
export function readStep(where: string, value: unknown, input: StepInput): number | Float32Array {
  const data = value !== null && typeof value === 'object' && 'data' in value && 'shape' in value
    ? (value as { data: unknown }).data : value;
  if (input.kind === 'tokens') {
    const v = ArrayBuffer.isView(data) || Array.isArray(data) ? (data as ArrayLike<unknown>) : null;
    if (v && v.length !== 1) throw rangeError(`${where}: x must hold one token id (shape [1]), got ${v.length} values`, 'ERR_LSTM_SHAPE');
    return checkToken(where, 'x', v ? v[0] : data, input.vocabSize);
  }
  const out = new Float32Array(input.size);
  copyFeatures(where, 'x', data, input.size, out, 0);
  return out;
}
