/**
 * The fast LSTM path with the portable scalar kernels (LSTM_NATIVE_ISA=scalar, what a CPU without
 * AVX2 runs: the step tiles, the 16-row weight packer, the GEMM's scalar micro-kernels) against the
 * reference path, in a child process (the ISA is chosen once per process). Shapes that take each
 * step path: the units split with chunked inference products inside the step job (G rows padded:
 * H 60 ends in a block of 4 units), the fused input product, and batch 1. Forward (training and
 * inference) and backward agree to float32 rounding.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// [T, B, I, H]: B 4 on 2 threads is split by units; the inference chunk at B 4, H 60 is 2184 steps.
const shapes: [number, number, number, number][] = [[2200, 4, 40, 60], [20, 6, 24, 96], [20, 1, 9, 40]];

const script = `
  const { createRequire } = require('node:module');
  const req = createRequire(${JSON.stringify(ROOT + 'package.json')});
  const native = req('node-gyp-build')(${JSON.stringify(ROOT)});
  native.setNumThreads({ threads: 2 });
  let s = 7;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
  const shapes = JSON.parse(process.argv[1]);
  const out = { isa: native.backendInfo().isa, worst: {} };
  for (const [T, B, I, H] of shapes) {
    const G4 = 4 * H, k = 1 / Math.sqrt(H);
    const u = (n, a = k) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * a);
    const wIh = u(G4 * I), wHh = u(G4 * H), bIh = u(G4), bHh = u(G4), x = u(T * B * I, 1);
    const lengths = B > 2 ? Int32Array.from({ length: B }, (_, b) => (b === 1 ? T - 3 : T)) : null;
    const dy = u(T * B * H, 1);
    const run = (path, training) => {
      const common = { T, B, I, H, P: 0, reverse: false, wIh, wHh, bIh, bHh, wHr: null, x, lengths, _path: path };
      const workspace = new Float32Array(native.lstmWorkspaceSize({ T, B, I, H, P: 0, training }));
      const y = new Float32Array(T * B * H), hn = new Float32Array(B * H), cn = new Float32Array(B * H);
      native.lstmForward({ ...common, h0: null, c0: null, y, yOffset: 0, ldy: H, hn, cn, workspace, training });
      if (!training) return { y, hn, cn };
      const g = { dx: new Float32Array(T * B * I), dh0: new Float32Array(B * H), dc0: new Float32Array(B * H),
        dWIh: new Float32Array(G4 * I), dWHh: new Float32Array(G4 * H), dBIh: new Float32Array(G4),
        dBHh: new Float32Array(G4), dWHr: null };
      native.lstmBackward({ ...common, dy, dyOffset: 0, ldy: H, dhn: null, dcn: null, ...g, workspace });
      return { y, hn, cn, ...g };
    };
    const ref = run('reference', true), fast = run('fast', true), inf = run('fast', false);
    let worst = 0;
    const diff = (a, b) => {
      let scale = 1, d = 0;
      for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
      for (let i = 0; i < a.length; i++) { const e = Math.abs(a[i] - b[i]); if (!(e <= d)) d = e; }
      worst = Math.max(worst, d / scale);
    };
    for (const key of Object.keys(ref)) if (ref[key]) diff(fast[key], ref[key]);
    for (const key of ['y', 'hn', 'cn']) diff(inf[key], ref[key]);
    out.worst[[T, B, I, H].join(' ')] = worst;
  }
  process.stdout.write(JSON.stringify(out));`;

describe('fast LSTM path with the scalar kernels (LSTM_NATIVE_ISA=scalar)', () => {
  it('agrees with the reference path: units split with chunked products, fused input, batch 1', () => {
    const stdout = execFileSync(process.execPath, ['-e', script, JSON.stringify(shapes)], {
      encoding: 'utf8', env: { ...process.env, LSTM_NATIVE_ISA: 'scalar' },
    });
    const res = JSON.parse(stdout) as { isa: string; worst: Record<string, number> };
    expect(res.isa).toBe('scalar');
    expect(Object.keys(res.worst)).toHaveLength(shapes.length);
    for (const [shape, worst] of Object.entries(res.worst)) {
      expect(worst, `T B I H ${shape}`).toBeLessThanOrEqual(2e-5);
    }
  }, 60_000);
});
