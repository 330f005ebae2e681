/**
 * The fast float32 LSTM kernel path (packed W_hh, fused gate epilogue, batch-1 GEMV, inference
 * mode) against the straightforward reference path (`_path: 'reference'`, one GEMM per step):
 * the same formulas in another order, so outputs, final states and every gradient agree to
 * float32 rounding. Many shapes: tails of the 8/16-unit blocks, batch 1 and tiles of 6 rows,
 * lengths (unsorted, some 0), both directions, projection, h0/c0.
 */
import { describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= d)) d = e; // NaN-safe: NaN makes d NaN
  }
  return d / scale;
}

interface Case { T: number; B: number; I: number; H: number; P: number; reverse: boolean; lengths: boolean; state: boolean }

function run(c: Case, path: 'reference' | 'fast', seed: number) {
  const native = testingNative();
  const next = rng(seed);
  const Ho = c.P > 0 ? c.P : c.H;
  const G4 = 4 * c.H;
  const k = 1 / Math.sqrt(c.H);
  const u = (n: number, a = k) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * a);
  const wIh = u(G4 * c.I), wHh = u(G4 * Ho), bIh = u(G4), bHh = u(G4);
  const wHr = c.P > 0 ? u(c.P * c.H) : null;
  const x = u(c.T * c.B * c.I, 1);
  const h0 = c.state ? u(c.B * Ho, 0.5) : null;
  const c0 = c.state ? u(c.B * c.H, 0.5) : null;
  let lengths: Int32Array | null = null;
  if (c.lengths) {
    lengths = Int32Array.from({ length: c.B }, (_, b) => (b % 3 === 1 ? 0 : 1 + Math.floor(next() * c.T)));
    if (c.B > 2) lengths[2] = c.T;
  }
  const dims = { T: c.T, B: c.B, I: c.I, H: c.H, P: c.P, reverse: c.reverse };
  const common = { ...dims, wIh, wHh, bIh, bHh, wHr, x, lengths, _path: path };
  const workspace = new Float32Array(native.lstmWorkspaceSize({ T: c.T, B: c.B, I: c.I, H: c.H, P: c.P }));
  const ldy = Ho + 3; // strided output rows, offset 1
  const y = new Float32Array(c.T * c.B * ldy).fill(7);
  const hn = new Float32Array(c.B * Ho), cn = new Float32Array(c.B * c.H);
  native.lstmForward({ ...common, h0, c0, y, yOffset: 1, ldy, hn, cn, workspace } as never);

  // Inference mode (no history) must give the same outputs.
  const wsInf = new Float32Array(native.lstmWorkspaceSize({ T: c.T, B: c.B, I: c.I, H: c.H, P: c.P, training: false }));
  const yInf = new Float32Array(c.T * c.B * ldy).fill(7);
  const hnInf = new Float32Array(c.B * Ho), cnInf = new Float32Array(c.B * c.H);
  native.lstmForward({ ...common, h0, c0, y: yInf, yOffset: 1, ldy, hn: hnInf, cn: cnInf, workspace: wsInf,
    training: false } as never);

  const dy = u(c.T * c.B * ldy, 1);
  const dhn = u(c.B * Ho, 1), dcn = u(c.B * c.H, 1);
  const grads = {
    dx: new Float32Array(c.T * c.B * c.I), dh0: new Float32Array(c.B * Ho), dc0: new Float32Array(c.B * c.H),
    dWIh: new Float32Array(G4 * c.I), dWHh: new Float32Array(G4 * Ho), dBIh: new Float32Array(G4),
    dBHh: new Float32Array(G4), dWHr: c.P > 0 ? new Float32Array(c.P * c.H) : null,
  };
  native.lstmBackward({ ...common, dy, dyOffset: 1, ldy, dhn, dcn, ...grads, workspace } as never);
  return { y, hn, cn, yInf, hnInf, cnInf, ...grads };
}

const cases: Case[] = [];
let n = 0;
for (const B of [1, 2, 5, 32]) {
  for (const H of [1, 3, 8, 17, 64, 129]) {
    const P = n % 4 === 3 && H > 1 ? Math.max(1, H >> 1) : 0;
    cases.push({ T: 6, B, I: 5, H, P, reverse: n % 2 === 1, lengths: n % 3 !== 0, state: n % 5 !== 2 });
    n++;
  }
}
// Every option combination on one mid-size shape.
for (const reverse of [false, true]) {
  for (const lengths of [false, true]) {
    for (const P of [0, 7]) cases.push({ T: 9, B: 7, I: 11, H: 24, P, reverse, lengths, state: lengths });
  }
}
// Inference mode hoists the input product in chunks of ~2M floats of pre-activations: at B 128,
// H 128 that is 32 steps, so T 35 crosses a chunk boundary (the fused-input step, I 16, and the
// hoisted one, I 300; both directions).
for (const reverse of [false, true]) {
  for (const I of [16, 300]) cases.push({ T: 35, B: 128, I, H: 128, P: 0, reverse, lengths: true, state: true });
}

// With the steps split by hidden units (B 8 on 2 threads; W_hh of 4 MiB), inference computes each
// chunk's product inside the steps' pool job, into G with each block of 8 units' gates side by side
// (rows of ceil(H/8)*32 floats). B 8, H 516: chunks of 126 steps, T 130 crosses one; H 516 ends in
// a block of 4 units (G rows padded, the partial block's cells read G one by one).
for (const reverse of [false, true]) cases.push({ T: 130, B: 8, I: 300, H: 516, P: 0, reverse, lengths: true, state: true });

// The training forward hoists the input product in chunks of 4 steps when all of G is over 1 MB
// and 4 steps of it are at most 512 KB: B 32, H 64, T 40 (32 KB a step), I 48 (not fused: the step
// adds the bias, the chunks' products leave it out).
for (const reverse of [false, true]) cases.push({ T: 40, B: 32, I: 48, H: 64, P: 0, reverse, lengths: reverse, state: true });

describe('fast LSTM kernel path vs the reference path (float32)', () => {
  for (const [i, c] of cases.entries()) {
    const name = `T${c.T} B${c.B} I${c.I} H${c.H} P${c.P}${c.reverse ? ' reverse' : ''}${c.lengths ? ' lengths' : ''}${c.state ? ' h0/c0' : ''}`;
    it(name, () => {
      const ref = run(c, 'reference', 100 + i);
      const fast = run(c, 'fast', 100 + i);
      const tol = 2e-5;
      for (const key of Object.keys(ref) as (keyof typeof ref)[]) {
        const a = fast[key], b = ref[key];
        if (a === null || b === null) { expect(a).toBe(b); continue; }
        expect(maxRelDiff(a, b), key).toBeLessThanOrEqual(tol);
        if (key === 'yInf' || key === 'hnInf' || key === 'cnInf') {
          const base = key === 'yInf' ? ref.y : key === 'hnInf' ? ref.hn : ref.cn;
          expect(maxRelDiff(a, base), `${key} vs training forward`).toBeLessThanOrEqual(tol);
        }
      }
      // Untouched padding columns of y stay as they were.
      const ldy = (c.P > 0 ? c.P : c.H) + 3;
      expect(fast.y[0]).toBe(7);
      expect(fast.y[ldy - 1]).toBe(7);
    });
  }
});

describe('the inference shapes above span more than one chunk of the hoisted input product', () => {
  // The inference workspace holds one chunk of pre-activations (Tc steps, Tc = min(T, chunk)): it
  // stops growing with T once T is past the chunk. If the chunk size changes, these fail rather
  // than the cases above silently running a single chunk.
  for (const [T, B, I, H] of [[35, 128, 300, 128], [36, 512, 100, 32], [130, 8, 300, 516]] as const) {
    it(`T ${T} B ${B} I ${I} H ${H}`, () => {
      const size = (t: number) => testingNative().lstmWorkspaceSize({ T: t, B, I, H, P: 0, training: false });
      expect(size(T)).toBe(size(T - 1));
    });
  }
});

describe('fast path across thread counts', () => {
  // The step loop runs every time step in one pool job when nothing happens between steps
  // (batch 1, the fused-input step; P = 0), in inference with a hoisted input product one job per
  // chunk of steps (rows split) or one for all chunks and their products (units split), and one
  // job per step otherwise. A slice's arithmetic
  // does not depend on which thread runs it, so any thread count, including more threads than
  // cores (threads that fall behind and skip completed steps), gives the same bits. The split
  // changes with the thread count too (B 32: batch rows with 2 and 3 threads, hidden units with 1
  // and 6; the backward likewise): every register tile has 3 rows or more either way and sums in
  // the same order.
  const shapes: Case[] = [
    { T: 24, B: 1, I: 32, H: 128, P: 0, reverse: false, lengths: false, state: true },
    { T: 24, B: 1, I: 9, H: 27, P: 0, reverse: true, lengths: true, state: false },
    { T: 16, B: 32, I: 16, H: 64, P: 0, reverse: false, lengths: true, state: true },
    { T: 12, B: 7, I: 40, H: 48, P: 0, reverse: true, lengths: false, state: true },
    // inference: hoisted input product in chunks of 32 steps (B 512, H 32), each chunk one job
    { T: 36, B: 512, I: 100, H: 32, P: 0, reverse: false, lengths: true, state: true },
    // inference: the chunks' products inside the steps' job (units split), G blocked and padded
    { T: 130, B: 8, I: 300, H: 516, P: 0, reverse: true, lengths: true, state: true },
    // B 50: one thread passes over 50 rows in two chunks, two threads over 25 rows each (forward
    // and backward split by rows): the chunks must be 25 + 25, never 48 + 2 (a 2-row tile sums
    // odd and even k apart, so its rows would get other bits than in a 5-row tile)
    { T: 10, B: 50, I: 12, H: 40, P: 0, reverse: false, lengths: true, state: true },
  ];
  for (const [i, c] of shapes.entries()) {
    it(`T${c.T} B${c.B} I${c.I} H${c.H}${c.reverse ? ' reverse' : ''}${c.lengths ? ' lengths' : ''}: 1, 2, 3 and 6 threads`, () => {
      const native = testingNative();
      const before = native.backendInfo().threads;
      try {
        native.setNumThreads({ threads: 1 });
        const one = run(c, 'fast', 500 + i);
        for (const n of [2, 3, 6]) {
          native.setNumThreads({ threads: n });
          for (let rep = 0; rep < 2; rep++) {
            const many = run(c, 'fast', 500 + i);
            for (const key of Object.keys(one) as (keyof typeof one)[]) {
              const a = many[key], b = one[key];
              if (a === null || b === null) { expect(a).toBe(b); continue; }
              // bitwise (NaN-safe), without a deep-equality walk over 64K elements
              const same = Buffer.from(a.buffer, a.byteOffset, a.byteLength)
                .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
              expect(same, `${key} with ${n} threads`).toBe(true);
            }
          }
        }
      } finally {
        native.setNumThreads({ threads: before });
      }
    });
  }
});
