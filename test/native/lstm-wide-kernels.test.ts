/**
 * The 16-lane (AVX-512) step kernels: 12 x 32 register tiles over two 16-column panels (the
 * forward's half panels of a unit block, two backward column panels) and epilogues with two rows
 * per vector (native/kernel/step_kernels_simd.h). Where the CPU has no AVX-512 they run emulated
 * (each 16-lane vector two __m256; LSTM_NATIVE_STEP_KERNELS=emu512, test addon only): the same
 * code, tile heights, tails and row pairing as the AVX-512 instantiation. Each output element's k-sum runs in the order
 * of the AVX2 tile and every epilogue lane runs the AVX2 formulas, so the emulated path must give
 * the AVX2 path's bits, and both agree with the reference path to float32 rounding.
 *
 * Shapes cover: forward blocks with a partial last block (H 19, 20, 27, 516), backward panel
 * pairs with a partial second panel (H 19, 20) or a lone last panel (H 8, 40), tiles of 1-2 rows
 * (the even / odd k split, with odd K: B 2), 13 rows cut 7 + 6, 25 + 25 rows per thread, batch 1
 * (GEMV), the fused and the hoisted input product, chunked inference (rows split, and units split
 * with blocked G), the projection (h to its own rows), both directions, lengths. Each run is a
 * child process: the kernels are chosen once per process.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/binding.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// [T, B, I, H, reverse, lengths, P (projection size, 0: none)]
const shapes: [number, number, number, number, boolean, boolean, number?][] = [
  [7, 13, 40, 20, false, true],    // hoisted input; 3 blocks (last of 4 units); panels 16 + 4
  [6, 2, 8, 40, true, false],      // fused input; 2-row tiles; panels 16 + 16 | 8
  [5, 2, 7, 19, false, true],      // fused, odd K1 = 7 and K2 = 19 in 2-row tiles (odd k's tail)
  [5, 1, 9, 27, false, true],      // batch 1
  [4, 3, 5, 8, true, true],        // one block, one lone panel, 3-row tile
  [6, 50, 12, 40, false, true],    // rows split on 2 threads: 25 + 25 rows, tiles 13 + 12
  [9, 7, 11, 24, true, true],      // fused, reverse
  [8, 32, 64, 48, false, false],   // hoisted, rows split
  [35, 128, 300, 128, false, true], // inference over 2 chunks (rows split)
  [130, 8, 300, 516, true, true],  // inference chunks in the step job (units split, blocked G)
  [6, 9, 10, 24, false, true, 7],  // projection: h to its own rows (stride H), no y from the epilogue
  [5, 1, 6, 20, true, false, 5],   // projection at batch 1
];

const script = `
  const { createRequire } = require('node:module');
  const { createHash } = require('node:crypto');
  const req = createRequire(${JSON.stringify(ROOT + 'package.json')});
  const native = req('node-gyp-build')(${JSON.stringify(ROOT)});
  const [shapes, threads] = JSON.parse(process.argv[1]);
  native.setNumThreads({ threads });
  const info = native.backendInfo();
  const out = { isa: info.isa, stepKernels: info.kernels.step, hashes: {}, worst: {} };
  const hash = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
  for (const [T, B, I, H, reverse, withLengths, P = 0] of shapes) {
    let s = 11 + T + B + I + H;
    const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
    const G4 = 4 * H, k = 1 / Math.sqrt(H), Ho = P > 0 ? P : H;
    const u = (n, a = k) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * a);
    const wIh = u(G4 * I), wHh = u(G4 * Ho), bIh = u(G4), bHh = u(G4), x = u(T * B * I, 1);
    const wHr = P > 0 ? u(P * H) : null;
    const h0 = u(B * Ho, 0.5), c0 = u(B * H, 0.5);
    const lengths = withLengths ? Int32Array.from({ length: B }, (_, b) => (b % 3 === 1 ? Math.max(0, T - 2 - b % 5) : T)) : null;
    const dy = u(T * B * Ho, 1), dhn = u(B * Ho, 1), dcn = u(B * H, 1);
    const run = (path, training) => {
      const common = { T, B, I, H, P, reverse, wIh, wHh, bIh, bHh, wHr, x, lengths, _path: path };
      const workspace = new Float32Array(native.lstmWorkspaceSize({ T, B, I, H, P, training }));
      const y = new Float32Array(T * B * Ho), hn = new Float32Array(B * Ho), cn = new Float32Array(B * H);
      native.lstmForward({ ...common, h0, c0, y, yOffset: 0, ldy: Ho, hn, cn, workspace, training });
      if (!training) return { yInf: y, hnInf: hn, cnInf: cn };
      const g = { dx: new Float32Array(T * B * I), dh0: new Float32Array(B * Ho), dc0: new Float32Array(B * H),
        dWIh: new Float32Array(G4 * I), dWHh: new Float32Array(G4 * Ho), dBIh: new Float32Array(G4),
        dBHh: new Float32Array(G4), dWHr: P > 0 ? new Float32Array(P * H) : null };
      native.lstmBackward({ ...common, dy, dyOffset: 0, ldy: Ho, dhn, dcn, ...g, workspace });
      return { y, hn, cn, ...g };
    };
    const key = [T, B, I, H, P].join(' ');
    const ref = run('reference', true);
    const fast = { ...run('fast', true), ...run('fast', false) };
    let worst = 0;
    const hashes = {};
    for (const [name, a] of Object.entries(fast)) {
      if (!a) continue;
      hashes[name] = hash(a);
      const b = ref[name.replace('Inf', '')];
      let scale = 1, d = 0;
      for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
      for (let i = 0; i < a.length; i++) { const e = Math.abs(a[i] - b[i]); if (!(e <= d)) d = e; }
      worst = Math.max(worst, d / scale);
    }
    out.hashes[key] = hashes;
    out.worst[key] = worst;
  }
  process.stdout.write(JSON.stringify(out));`;

interface ChildResult {
  isa: string;
  stepKernels: string;
  hashes: Record<string, Record<string, string>>;
  worst: Record<string, number>;
}

type Shape = (typeof shapes)[number];

function child(env: Record<string, string>, threads = 2, list: Shape[] = shapes): ChildResult {
  const stdout = execFileSync(process.execPath, ['-e', script, JSON.stringify([list, threads])], {
    encoding: 'utf8', env: { ...process.env, LSTM_NATIVE_STEP_KERNELS: '', ...env }, maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout) as ChildResult;
}

// The smaller shapes (the thread-count runs and the selection checks repeat them).
const small = shapes.filter(([T, B, I, H]) => T * B * (I + H) * H < 2e6);

function expectAgreesWithReference(res: ChildResult) {
  expect(Object.keys(res.worst)).toHaveLength(shapes.length);
  for (const [shape, worst] of Object.entries(res.worst)) {
    expect(worst, `T B I H P ${shape}`).toBeLessThanOrEqual(2e-5);
  }
}

const supported = loadNative().backendInfo().supportedIsas;
const hasAvx2 = supported.includes('avx2');
const hasAvx512 = supported.includes('avx512');

describe('16-lane step kernels emulated on AVX2 (LSTM_NATIVE_STEP_KERNELS=emu512)', () => {
  it.skipIf(!hasAvx2)('agree with the reference path and give the avx2 path\'s bits', () => {
    const avx2 = child({ LSTM_NATIVE_ISA: 'avx2' });
    const emu = child({ LSTM_NATIVE_ISA: 'avx2', LSTM_NATIVE_STEP_KERNELS: 'emu512' });
    expect(avx2.stepKernels).toBe('avx2');
    expect(emu.stepKernels).toBe('emu512');
    expectAgreesWithReference(emu);
    expectAgreesWithReference(avx2);
    for (const [shape, hashes] of Object.entries(avx2.hashes)) {
      for (const [name, h] of Object.entries(hashes)) {
        expect(emu.hashes[shape]![name], `${name} at T B I H P ${shape}`).toBe(h);
      }
    }
  }, 180_000);

  it.skipIf(!hasAvx2)('give the same bits on 1, 2 and 3 threads (tiles cut 12 rows at most, never below 3)', () => {
    const env = { LSTM_NATIVE_ISA: 'avx2', LSTM_NATIVE_STEP_KERNELS: 'emu512' };
    const one = child(env, 1, small);
    expect(Object.keys(one.hashes)).toHaveLength(small.length);
    for (const n of [2, 3]) expect(child(env, n, small).hashes, `${n} threads`).toEqual(one.hashes);
  }, 180_000);

  it('is ignored unless the CPU runs AVX2 with exactly that value', () => {
    // Any other value (or AVX2 not active) leaves the ISA's own kernels in place.
    const res = child({ LSTM_NATIVE_STEP_KERNELS: 'emu-512' }, 2, []);
    expect(res.stepKernels).toBe(res.isa === 'neon' ? 'scalar' : res.isa);
    const scalar = child({ LSTM_NATIVE_ISA: 'scalar', LSTM_NATIVE_STEP_KERNELS: 'emu512' }, 2, []);
    expect(scalar.stepKernels).toBe('scalar');
  }, 180_000);
});

describe('16-lane step kernels on AVX-512 hardware', () => {
  // This machine's CPU decides: the real instantiation runs only where avx512 is supported.
  it.skipIf(!hasAvx512)('agree with the reference path; forward bits equal to the emulated kernels where no GEMM differs', () => {
    const real = child({});
    expect(real.stepKernels).toBe('avx512');
    expectAgreesWithReference(real);
    // The fused-input shapes run no hoisted product, so their forward outputs come from
    // the step kernels alone (the AVX-512 GEMM blocks K differently from the AVX2 one).
    const emu = child({ LSTM_NATIVE_ISA: 'avx2', LSTM_NATIVE_STEP_KERNELS: 'emu512' });
    for (const shape of ['6 2 8 40 0', '9 7 11 24 0', '6 50 12 40 0']) {
      for (const name of ['y', 'hn', 'cn', 'yInf', 'hnInf', 'cnInf']) {
        expect(real.hashes[shape]![name], `${name} at T B I H P ${shape}`).toBe(emu.hashes[shape]![name]);
      }
    }
  }, 180_000);
});
