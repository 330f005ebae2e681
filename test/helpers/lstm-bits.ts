/**
 * Runs everything one LSTM layer computes (inference, the training forward and its backward) and
 * compares two such runs bit for bit: for the tests that change how the work is cut between threads
 * and expect the same bits as one thread.
 */
import { expect } from 'vitest';
import { LSTM, type Tensor } from '../../lib/index.js';

export interface LstmRun {
  inf: (Tensor | null)[];
  out: (Tensor | null)[];
  dx: Tensor;
  grads: (readonly [string, Tensor['data']])[];
}

/** Inference, the training forward and backward of a fresh LSTM(I, H) with the given seed. */
export function runLstmAll(opts: { I: number; H: number; seed: number; x: Tensor; gy: Tensor; lengths: number[] }): LstmRun {
  const lstm = new LSTM({ inputSize: opts.I, hiddenSize: opts.H, seed: opts.seed });
  const inf = lstm.forward(opts.x, { lengths: opts.lengths, noGrad: true });
  const out = lstm.forward(opts.x, { lengths: opts.lengths });
  const g = lstm.backward({ output: opts.gy });
  const grads = Object.entries(lstm.namedGradients()).map(([k, v]) => [k, v.data] as const);
  return { inf: [inf.output, inf.h, inf.c], out: [out.output, out.h, out.c], dx: g.x, grads };
}

function bits(t: Tensor | Tensor['data'] | null): Buffer {
  if (t === null) return Buffer.alloc(0);
  const a = 'data' in t ? t.data : t;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Every output, dx and parameter gradient of `got` has the same bits as in `want`. */
export function expectSameBits(got: LstmRun, want: LstmRun): void {
  for (let i = 0; i < 3; i++) {
    expect(bits(got.inf[i]!).equals(bits(want.inf[i]!)), `inference output ${i}`).toBe(true);
    expect(bits(got.out[i]!).equals(bits(want.out[i]!)), `training output ${i}`).toBe(true);
  }
  expect(bits(got.dx).equals(bits(want.dx)), 'dx').toBe(true);
  expect(got.grads.length).toBe(want.grads.length);
  for (const [i, [name, g]] of got.grads.entries()) {
    expect(bits(g).equals(bits(want.grads[i]![1])), name).toBe(true);
  }
}
