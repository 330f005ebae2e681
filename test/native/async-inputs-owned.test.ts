/**
 * What an async call reads is fixed when the call is made (issue 24, finding 1): forwardAsync and
 * backwardAsync own a copy of every input, so mutating, transferring or detaching the caller's
 * arrays before the promise settles changes neither the result nor memory the worker reads.
 * Each case runs the async call, transfers the input's buffer away with structuredClone (the
 * original array is detached, the memory now belongs to the clone) and overwrites that memory
 * while the worker runs, then compares with the same call made synchronously.
 */
import { describe, expect, it } from 'vitest';
import { LSTM, tensor, type Tensor } from '../../lib/index.js';
import { randomArray, rng } from '../helpers/compare.js';

const next = rng(24);
const rand = (shape: number[], scale = 1): Tensor =>
  tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next).map((v) => v * scale), shape);

/** The first index where a and b differ in bits (or length), -1 when identical (fast on millions). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

/** Moves t's memory to a new ArrayBuffer (t is detached) and fills that memory with `value`. */
function transferAndOverwrite(t: Tensor, value: number): void {
  const moved = structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
  new Float32Array(moved).fill(value);
  expect(t.data.length).toBe(0);  // detached
}

describe('async calls own their inputs', () => {
  // The reproducer: a 400x64x256 upstream gradient.
  const T = 400, B = 64, I = 16, H = 256;

  it('backwardAsync: output, h and c gradients transferred and overwritten before it settles', async () => {
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, seed: 3 });
    const x = rand([T, B, I]);
    const grads = () => ({ output: rand([T, B, H], 1e-3), h: rand([1, B, H], 1e-3), c: rand([1, B, H], 1e-3) });
    const g = grads();
    lstm.forward(x);
    const want = lstm.backward({ output: tensor(g.output.data.slice(), g.output.shape),
      h: tensor(g.h!.data.slice(), g.h!.shape), c: tensor(g.c!.data.slice(), g.c!.shape) });
    const wantDx = want.x!.data.slice();
    const wantGrads = lstm.parameters().grads.slice();
    lstm.zeroGrad();
    lstm.forward(x);
    const pending = lstm.backwardAsync(g);
    transferAndOverwrite(g.output, 7e5);
    transferAndOverwrite(g.h!, -3e5);
    transferAndOverwrite(g.c!, 1e5);
    const got = await pending;
    expect(firstDifference(got.x!.data, wantDx)).toBe(-1);
    expect(firstDifference(lstm.parameters().grads, wantGrads)).toBe(-1);
  }, 120_000);

  it('forwardAsync: h0 and c0 transferred and overwritten before it settles (training and noGrad)', async () => {
    for (const noGrad of [false, true]) {
      const lstm = new LSTM({ inputSize: I, hiddenSize: H, seed: 4 });
      const x = rand([T, B, I]);
      const h0 = rand([1, B, H]), c0 = rand([1, B, H]);
      const want = lstm.forward(x, { h0: tensor(h0.data.slice(), h0.shape), c0: tensor(c0.data.slice(), c0.shape), noGrad });
      const pending = lstm.forwardAsync(x, { h0, c0, noGrad });
      transferAndOverwrite(h0, 5e4);
      transferAndOverwrite(c0, -5e4);
      const got = await pending;
      expect(firstDifference(got.output.data, want.output.data)).toBe(-1);
      expect(firstDifference(got.h.data, want.h.data)).toBe(-1);
      expect(firstDifference(got.c.data, want.c.data)).toBe(-1);
    }
  }, 120_000);

  it('forwardAsync with noGrad: x transferred and overwritten before it settles', async () => {
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, seed: 5 });
    const x = rand([T, B, I]);
    const want = lstm.forward(tensor(x.data.slice(), x.shape), { noGrad: true });
    const pending = lstm.forwardAsync(x, { noGrad: true });
    transferAndOverwrite(x, 9e3);
    const got = await pending;
    expect(firstDifference(got.output.data, want.output.data)).toBe(-1);
  }, 120_000);

  it('the weights and gradients are not copied, and a transfer of their buffer copies instead of detaching it', async () => {
    const lstm = new LSTM({ inputSize: I, hiddenSize: H, seed: 6 });
    const x = rand([T, B, I]);
    const want = lstm.forward(x);
    const wantGrad = lstm.backward({ output: tensor(want.output.data.map((v) => v * 0.5), want.output.shape) });
    const wantW = lstm.namedGradients().weight_hh_l0!.data.slice();
    lstm.zeroGrad();
    const weights = lstm.namedParameters().weight_hh_l0!.data;
    const grads = lstm.namedGradients().weight_hh_l0!.data;
    const pending = lstm.forwardAsync(x);
    // A transfer of a model's buffers (postMessage, structuredClone) gets a copy; the model keeps its memory.
    const moved = structuredClone(weights.buffer, { transfer: [weights.buffer as ArrayBuffer] });
    expect(weights.length).toBe(4 * H * H);
    new Float32Array(moved).fill(1e4);
    const got = await pending;
    expect(firstDifference(got.output.data, want.output.data)).toBe(-1);
    const pendingGrad = lstm.backwardAsync({ output: tensor(want.output.data.map((v) => v * 0.5), want.output.shape) });
    structuredClone(grads.buffer, { transfer: [grads.buffer as ArrayBuffer] });
    expect(grads.length).toBe(4 * H * H);
    const gotGrad = await pendingGrad;
    expect(firstDifference(gotGrad.x.data, wantGrad.x.data)).toBe(-1);
    expect(firstDifference(lstm.namedGradients().weight_hh_l0!.data, wantW)).toBe(-1);
  }, 120_000);
});
