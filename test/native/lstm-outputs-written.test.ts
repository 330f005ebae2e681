/**
 * Forward outputs are allocated without zeroing (lib/uninitialized.ts): the kernels must write
 * every element, padding rows included. The suite runs with LSTM_NATIVE_POISON_OUTPUTS=1
 * (vitest.config.ts), so those arrays start as NaN; here every kernel path (reference and fast,
 * batch 1 and batched, fused and hoisted input product, rows and units split, projections,
 * both directions, lengths of 0 and T, batchFirst, sync and async) must leave no NaN behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LSTM, backendInfo, setNumThreads, tensor, type Tensor } from '../../lib/index.js';
import { poisonOutputs, uninitialized } from '../../lib/uninitialized.js';
import { randomArray, rng } from '../helpers/compare.js';

const next = rng(7);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);
const nanAt = (a: Float32Array): number => a.findIndex(Number.isNaN);

describe('uninitialized outputs', () => {
  it('run poisoned in this suite, so an unwritten element shows as NaN', () => {
    expect(poisonOutputs()).toBe(true);
    const a = uninitialized(Float32Array, 1000);
    const b = uninitialized(Float64Array, 3);
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(1000);
    expect(a.every(Number.isNaN)).toBe(true);
    expect(b).toBeInstanceOf(Float64Array);
    expect(Array.from(b).every(Number.isNaN)).toBe(true);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(4000);
    expect(uninitialized(Float32Array, 0).length).toBe(0);
  });

  const threads = backendInfo().threads;
  afterAll(() => setNumThreads(threads));

  // [I, H, T, B, layers, bidirectional, projSize, batchFirst, lengths]
  type Case = [number, number, number, number, number, boolean, number, boolean, number[] | null];
  const cases: Case[] = [
    [3, 5, 4, 1, 1, false, 0, false, null],              // batch 1 (matrix-vector), H not a multiple of 8
    [8, 16, 6, 1, 2, true, 0, false, [0]],               // batch 1, empty sequence
    [5, 20, 7, 3, 2, true, 0, false, [7, 0, 3]],         // small batch, padding and an empty row
    [16, 24, 9, 4, 1, false, 8, true, [9, 2, 5, 1]],     // projection, batch-first
    [48, 64, 40, 32, 1, true, 0, false, null],           // hoisted input product in chunks
    [64, 64, 12, 32, 2, false, 0, false, [12, 1, 0, 6, ...Array.from({ length: 28 }, (_, i) => 1 + (i % 12))]],
    [8, 32, 10, 48, 1, false, 0, false, null],           // fused input product, 48 rows
    [8, 40, 5, 64, 3, true, 16, false, Array.from({ length: 64 }, (_, i) => i % 6)],
  ];

  for (const n of [1, 2]) {
    for (const [I, H, T, B, numLayers, bidirectional, projSize, batchFirst, lengths] of cases) {
      const name = `I ${I} H ${H} T ${T} B ${B} L ${numLayers}${bidirectional ? ' bidir' : ''}${projSize ? ` P ${projSize}` : ''}` +
        `${batchFirst ? ' batch-first' : ''}${lengths ? ' lengths' : ''}, ${n} thread(s)`;
      it(`writes every element of output, h and c: ${name}`, async () => {
        setNumThreads(n);
        const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers, bidirectional, projSize, batchFirst, seed: 3 });
        const x = rand(batchFirst ? [B, T, I] : [T, B, I]);
        const opts = lengths ? { lengths } : {};
        for (const noGrad of [false, true]) {
          for (const r of [lstm.forward(x, { ...opts, noGrad }), await lstm.forwardAsync(x, { ...opts, noGrad })]) {
            expect(nanAt(r.output.data), 'output').toBe(-1);
            expect(nanAt(r.h.data), 'h').toBe(-1);
            expect(nanAt(r.c.data), 'c').toBe(-1);
          }
        }
      });
    }
  }
});
