/**
 * Output arrays whose memory is not zeroed first. A kernel output that is written in full (every
 * element, rows past a sequence's length as zeros) gains nothing from the zeroing `new
 * Float32Array(n)` does, and that memset runs on the main thread while the pool waits (the gain is
 * in bench/RESULTS.md). Only for arrays the caller writes completely: anything left unwritten would show whatever the allocator handed back.
 *
 * LSTM_NATIVE_POISON_OUTPUTS=1 (read once, set by the test suite) fills these arrays with NaN
 * instead, so a kernel path that misses an element fails every numeric test it reaches.
 * Package-internal.
 */
import { Buffer, constants } from 'node:buffer';
import type { FloatArray } from './binding.js';

/** Float32Array or Float64Array, with the constructor over an existing ArrayBuffer. */
export interface FloatArrayClass<A extends FloatArray> {
  new (n: number): A;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

const poison = typeof process !== 'undefined' && process.env.LSTM_NATIVE_POISON_OUTPUTS === '1';

/** Whether uninitialized() fills its arrays with NaN (LSTM_NATIVE_POISON_OUTPUTS=1). */
export function poisonOutputs(): boolean {
  return poison;
}

/** An array of n elements of Ctor's type whose contents are unspecified (NaN when poisoning). */
export function uninitialized<A extends FloatArray>(Ctor: FloatArrayClass<A>, n: number): A {
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  // Past Buffer's limit (4 GiB on Node 20) the plain, zeroed allocation reports the error as V8 does.
  if (n === 0 || bytes > constants.MAX_LENGTH) return new Ctor(n);
  // allocUnsafeSlow: a Buffer of its own (not a slice of the shared pool), so the array starts at
  // byte 0 of its own ArrayBuffer, aligned, and the memory is freed with it.
  const buf = Buffer.allocUnsafeSlow(bytes);
  const out = new Ctor(buf.buffer as ArrayBuffer, buf.byteOffset, n);
  if (poison) out.fill(Number.NaN);
  return out;
}
