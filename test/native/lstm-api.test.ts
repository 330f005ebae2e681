/**
 * The LSTM module's contract beyond parity: bad input gives a TypeError/RangeError naming the
 * argument, the expected and the received value; async variants match sync ones and guard the
 * module while in flight; state dicts are strict; batchFirst matches time-major.
 */
import { describe, expect, it } from 'vitest';
import { LSTM, LstmError, tensor, type Tensor } from '../../lib/index.js';
import { testingNative } from '../helpers/testing-addon.js';
import { randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(42);
const rand = (shape: number[]): Tensor => tensor(randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next), shape);

describe('LSTM options', () => {
  it('rejects a misspelled option with a suggestion', () => {
    expectError(() => new LSTM({ inputSize: 3, hiddensize: 4 } as never), RangeError,
      /^new LSTM: unknown option "hiddensize" \(did you mean "hiddenSize"\?\)/, 'ERR_LSTM_ARG_RANGE');
  });
  it('rejects invalid sizes, never clamps', () => {
    expectError(() => new LSTM({ inputSize: 0, hiddenSize: 4 }), RangeError,
      /^new LSTM: inputSize must be an integer >= 1, got the number 0$/);
    expectError(() => new LSTM({ inputSize: 3, hiddenSize: 4.5 }), RangeError,
      /^new LSTM: hiddenSize must be an integer >= 1, got the number 4.5$/);
    expectError(() => new LSTM({ inputSize: 3, hiddenSize: '4' as never }), TypeError,
      /^new LSTM: hiddenSize must be an integer >= 1, got the string "4"$/);
    expectError(() => new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 4 }), RangeError,
      /^new LSTM: projSize must be smaller than hiddenSize \(4\), got 4$/);
    expectError(() => new LSTM({ inputSize: 3, hiddenSize: 4, bidirectional: 1 as never }), TypeError,
      /^new LSTM: bidirectional must be a boolean, got the number 1$/);
  });
  it('initialises like PyTorch: uniform within ±1/sqrt(H), reproducible with a seed', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 16, seed: 5 });
    const b = new LSTM({ inputSize: 3, hiddenSize: 16, seed: 5 });
    const c = new LSTM({ inputSize: 3, hiddenSize: 16, seed: 6 });
    const pa = a.namedParameters().weight_hh_l0!.data;
    expect(Math.max(...pa.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...pa.map(Math.abs))).toBeGreaterThan(0.2);
    expect(pa).toEqual(b.namedParameters().weight_hh_l0!.data);
    expect(pa).not.toEqual(c.namedParameters().weight_hh_l0!.data);
  });
});

describe('LSTM.forward bad input', () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
  it('names a wrong input shape', () => {
    expectError(() => lstm.forward(rand([5, 2, 4])), RangeError,
      /^lstm.forward: x must have shape \[T, B, 3\] \(inputSize 3\), got \[5, 2, 4\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => lstm.forward(rand([5, 3])), RangeError, /x must have shape \[T, B, 3\] \(inputSize 3\), got \[5, 3\]/);
  });
  it('names a wrong array type', () => {
    expectError(() => lstm.forward({ data: new Float64Array(30), shape: [5, 2, 3] } as never), TypeError,
      /^lstm.forward: x.data must be a Float32Array, got a Float64Array of 30 elements$/);
    expectError(() => lstm.forward(new Float32Array(30) as never), TypeError,
      /^lstm.forward: x must be a tensor \{data: Float32Array, shape: number\[\]\}, got a Float32Array of 30 elements \(wrap it with tensor\(data, shape\)\)$/);
  });
  it('names a size mismatch between data and shape', () => {
    expectError(() => lstm.forward({ data: new Float32Array(29), shape: [5, 2, 3] }), RangeError,
      /^lstm.forward: x has shape \[5, 2, 3\] \(30 elements\), but its data has 29 elements$/);
  });
  it('names wrong initial-state shapes', () => {
    expectError(() => lstm.forward(rand([5, 2, 3]), { h0: rand([4, 3, 4]) }), RangeError,
      /^lstm.forward: h0 must have shape \[4, 2, 4\] \(D\*numLayers, B, hiddenSize\), got \[4, 3, 4\]$/);
    expectError(() => lstm.forward(rand([5, 2, 3]), { c0: rand([2, 2, 4]) }), RangeError,
      /^lstm.forward: c0 must have shape \[4, 2, 4\] \(D\*numLayers, B, hiddenSize\), got \[2, 2, 4\]$/);
  });
  it('rejects lengths out of range, of the wrong count or type; accepts any order', () => {
    expectError(() => lstm.forward(rand([5, 2, 3]), { lengths: [6, 1] }), RangeError,
      /^lstm.forward: lengths\[0\] must be an integer in \[0, 5\] \(T\), got 6$/);
    expectError(() => lstm.forward(rand([5, 2, 3]), { lengths: [-1, 1] }), RangeError,
      /^lstm.forward: lengths\[0\] must be an integer in \[0, 5\] \(T\), got -1$/);
    expectError(() => lstm.forward(rand([5, 2, 3]), { lengths: [2.5, 1] }), RangeError, /lengths\[0\] must be an integer/);
    expectError(() => lstm.forward(rand([5, 2, 3]), { lengths: [1, 2, 3] }), RangeError,
      /^lstm.forward: lengths must have 2 entries \(B\), got 3$/);
    expectError(() => lstm.forward(rand([5, 2, 3]), { lengths: 'abc' as never }), TypeError, /lengths must be an array of B integers/);
    expect(() => lstm.forward(rand([5, 2, 3]), { lengths: [2, 5] })).not.toThrow();
    expect(() => lstm.forward(rand([5, 2, 3]), { lengths: BigInt64Array.from([5n, 2n]) })).not.toThrow();
  });
  it('rejects unknown forward options', () => {
    expectError(() => lstm.forward(rand([5, 2, 3]), { hx: rand([4, 2, 4]) } as never), RangeError,
      /^lstm.forward: unknown option "hx"/);
  });
});

describe('LSTM.backward', () => {
  it('throws before any forward', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    expectError(() => lstm.backward({}), LstmError as never, /^lstm.backward: call forward\(\) before backward\(\) \(a forward with noGrad keeps nothing for it\)$/, 'ERR_LSTM_STATE');
  });
  it('names a gradient of the wrong shape', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    lstm.forward(rand([5, 2, 3]));
    expectError(() => lstm.backward({ output: rand([5, 2, 3]) }), RangeError,
      /^lstm.backward: output must have shape \[5, 2, 4\] \(shaped like the forward output\), got \[5, 2, 3\]$/);
  });
  it('accumulates parameter gradients until zeroGrad', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = rand([5, 2, 3]);
    lstm.forward(x);
    const gy = rand([5, 2, 4]);
    lstm.backward({ output: gy }, { retainGraph: true });
    const once = lstm.namedGradients().weight_ih_l0!.data.slice();
    lstm.backward({ output: gy });
    const twice = lstm.namedGradients().weight_ih_l0!.data;
    for (let i = 0; i < once.length; i++) expect(twice[i]).toBeCloseTo(2 * once[i]!, 5);
    lstm.zeroGrad();
    expect(lstm.namedGradients().weight_ih_l0!.data.every((v) => v === 0)).toBe(true);
  });
  it('inputGrad: false skips dx and leaves every other gradient bit-identical (sync and async)', async () => {
    // 2 layers, bidirectional, I 48 > H/2 and I 8 < H/2: both the hoisted and the fused-input step
    for (const I of [48, 8]) {
      const lstm = new LSTM({ inputSize: I, hiddenSize: 24, numLayers: 2, bidirectional: true, seed: 3 });
      const x = rand([6, 5, I]);
      const gy = rand([6, 5, 48]);
      const gh = rand([4, 5, 24]);
      lstm.forward(x);
      const full = lstm.backward({ output: gy, h: gh }, { retainGraph: true });
      const grads = lstm.parameters().grads.slice();
      lstm.zeroGrad();
      const skipped = lstm.backward({ output: gy, h: gh }, { inputGrad: false, retainGraph: true });
      expect(skipped.x).toBeNull();
      expect(full.x.data.some((v) => v !== 0)).toBe(true);
      expect(skipped.h0.data).toEqual(full.h0.data);
      expect(skipped.c0.data).toEqual(full.c0.data);
      expect(lstm.parameters().grads).toEqual(grads);
      lstm.zeroGrad();
      const viaAsync = await lstm.backwardAsync({ output: gy, h: gh }, { inputGrad: false, retainGraph: true });
      expect(viaAsync.x).toBeNull();
      expect(lstm.parameters().grads).toEqual(grads);
      lstm.zeroGrad();
      const explicit = lstm.backward({ output: gy, h: gh }, { inputGrad: true });
      expect(explicit.x.data).toEqual(full.x.data);
    }
  });
  it('names a bad backward option', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    lstm.forward(rand([5, 2, 3]));
    expectError(() => lstm.backward({}, { inputGrad: 0 as never }), TypeError,
      /^lstm.backward: inputGrad must be a boolean, got the number 0$/);
    expectError(() => lstm.backward({}, { inputgrad: false } as never), RangeError,
      /^lstm.backward: unknown option "inputgrad" \(did you mean "inputGrad"\?\)/);
  });
});

describe('noGrad (inference-only forward)', () => {
  it('gives the same outputs with a smaller workspace and refuses backward after it', () => {
    const opts = { inputSize: 5, hiddenSize: 16, numLayers: 2, bidirectional: true, projSize: 4, seed: 4 };
    const a = new LSTM(opts);
    const x = rand([30, 3, 5]);
    const withGrad = a.forward(x, { lengths: [30, 12, 1] });
    const noGrad = a.forward(x, { lengths: [30, 12, 1], noGrad: true });
    expect(noGrad.output.data).toEqual(withGrad.output.data);
    expect(noGrad.h.data).toEqual(withGrad.h.data);
    expect(noGrad.c.data).toEqual(withGrad.c.data);
    expectError(() => a.backward({}), LstmError as never, /call forward\(\) before backward\(\) \(a forward with noGrad/, 'ERR_LSTM_STATE');
    const native = testingNative();
    expect(native.lstmWorkspaceSize({ T: 1000, B: 32, I: 64, H: 256, P: 0, training: false })).toBeLessThan(native.lstmWorkspaceSize({ T: 1000, B: 32, I: 64, H: 256, P: 0 }) / 10);
  });
  it('gives the same bits call after call while it reuses its between-layer buffers (shapes and lengths changing)', async () => {
    // 3 layers: both reused buffers alternate; a large call first so later ones run on views of
    // buffers holding an earlier call's values.
    const opts = { inputSize: 6, hiddenSize: 12, numLayers: 3, bidirectional: true, seed: 8 };
    const a = new LSTM(opts);
    const b = new LSTM(opts);
    const runs: [number, number, number[] | undefined][] = [[20, 4, undefined], [7, 3, [7, 2, 5]], [20, 4, [3, 20, 1, 9]], [5, 1, undefined]];
    for (const [T, B, lengths] of runs) {
      const x = rand([T, B, 6]);
      const ref = b.forward(x, lengths ? { lengths } : {});
      const got = a.forward(x, lengths ? { lengths, noGrad: true } : { noGrad: true });
      expect(got.output.data).toEqual(ref.output.data);
      expect(got.h.data).toEqual(ref.h.data);
      expect(got.c.data).toEqual(ref.c.data);
      const gotAsync = await a.forwardAsync(x, lengths ? { lengths, noGrad: true } : { noGrad: true });
      expect(gotAsync.output.data).toEqual(ref.output.data);
      expect(gotAsync.output.data.buffer).not.toBe(got.output.data.buffer);
    }
  });
  it('works off the main thread too', async () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 8, seed: 2 });
    const x = rand([10, 2, 3]);
    expect((await a.forwardAsync(x, { noGrad: true })).output.data).toEqual(a.forward(x).output.data);
  });
});

describe('batchFirst', () => {
  it('gives the transposed results of the time-major module', () => {
    const opts = { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 9 };
    const tm = new LSTM(opts);
    const bf = new LSTM({ ...opts, batchFirst: true });
    const [T, B] = [4, 3];
    const x = rand([T, B, 3]);
    const xb = new Float32Array(x.data.length);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) xb.set(x.data.subarray((t * B + b) * 3, (t * B + b + 1) * 3), (b * T + t) * 3);
    const a = tm.forward(x, { lengths: [4, 2, 3] });
    const r = bf.forward(tensor(xb, [B, T, 3]), { lengths: [4, 2, 3] });
    expect(r.output.shape).toEqual([B, T, 8]);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
      expect(Array.from(r.output.data.subarray((b * T + t) * 8, (b * T + t + 1) * 8)))
        .toEqual(Array.from(a.output.data.subarray((t * B + b) * 8, (t * B + b + 1) * 8)));
    }
    expect(r.h.data).toEqual(a.h.data);
  });
});

describe('async variants', () => {
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  /** Runs `round` `rounds` times with 2 and then 3 pool threads, restoring the thread count. */
  async function concurrentRounds(rounds: number, round: () => Promise<void>): Promise<void> {
    const native = testingNative();
    const before = native.backendInfo().threads;
    try {
      for (const threads of [2, 3]) {
        native.setNumThreads({ threads: threads });
        for (let r = 0; r < rounds; r++) await round();
      }
    } finally {
      native.setNumThreads({ threads: before });
    }
  }
  it('give the same bits when several run at once on libuv threads (one pool job at a time, the rest inline)', async () => {
    // batch 1, a small batch and the fused-input step: the shapes whose steps run as one pool job
    const cases = [[16, 64, 1, 40], [16, 64, 8, 30], [8, 128, 32, 20], [32, 128, 1, 50]].map(([I, H, B, T], k) => {
      const lstm = new LSTM({ inputSize: I!, hiddenSize: H!, seed: k + 1 }).eval();
      return { lstm, x: rand([T!, B!, I!]) };
    });
    const expected = cases.map(({ lstm, x }) => lstm.forward(x).output.data.slice());
    await concurrentRounds(5, async () => {
      const outs = await Promise.all(cases.map(({ lstm, x }) => lstm.forwardAsync(x)));
      outs.forEach((o, i) => expect(bytes(o.output.data).equals(bytes(expected[i]!))).toBe(true));
    });
  });
  it('give the same gradients when several training steps run at once (backward split by rows or units)', async () => {
    // B 32 and 48: forward and backward split by batch rows on 2-3 threads; B 4: by hidden units
    const cases = [[16, 64, 32, 30], [8, 40, 48, 12], [12, 96, 4, 25]].map(([I, H, B, T], k) => {
      const lstm = new LSTM({ inputSize: I!, hiddenSize: H!, seed: k + 7 });
      return { lstm, x: rand([T!, B!, I!]), gy: rand([T!, B!, H!]) };
    });
    const expected = cases.map(({ lstm, x, gy }) => {
      lstm.zeroGrad();
      lstm.forward(x);
      const g = lstm.backward({ output: gy });
      return { dx: g.x!.data.slice(), dW: lstm.namedGradients().weight_hh_l0!.data.slice() };
    });
    await concurrentRounds(3, async () => {
      const grads = await Promise.all(cases.map(async ({ lstm, x, gy }) => {
        lstm.zeroGrad();
        await lstm.forwardAsync(x);
        return lstm.backwardAsync({ output: gy });
      }));
      grads.forEach((g, i) => {
        expect(bytes(g.x!.data).equals(bytes(expected[i]!.dx)), `dx ${i}`).toBe(true);
        expect(bytes(cases[i]!.lstm.namedGradients().weight_hh_l0!.data).equals(bytes(expected[i]!.dW)), `dW ${i}`).toBe(true);
      });
    });
  });
  it('return what the sync calls return', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 5, bidirectional: true, projSize: 2, seed: 3 });
    const x = rand([6, 4, 3]);
    const sync = lstm.forward(x, { lengths: [6, 3, 1, 5] });
    const gs = lstm.backward({ output: sync.output });
    const gradSync = lstm.namedGradients().weight_hr_l0!.data.slice();
    lstm.zeroGrad();
    const asyncOut = await lstm.forwardAsync(x, { lengths: [6, 3, 1, 5] });
    const ga = await lstm.backwardAsync({ output: sync.output });
    expect(asyncOut.output.data).toEqual(sync.output.data);
    expect(ga.x.data).toEqual(gs.x.data);
    expect(lstm.namedGradients().weight_hr_l0!.data).toEqual(gradSync);
  });
  it('marks the module busy while in flight', async () => {
    const lstm = new LSTM({ inputSize: 8, hiddenSize: 32 });
    const pending = lstm.forwardAsync(rand([50, 8, 8]));
    expectError(() => lstm.forward(rand([5, 8, 8])), LstmError as never, /busy with lstm.forwardAsync/, 'ERR_LSTM_BUSY');
    expectError(() => lstm.zeroGrad(), LstmError as never, /busy/, 'ERR_LSTM_BUSY');
    await pending;
    expect(() => lstm.forward(rand([5, 8, 8]))).not.toThrow();
  });
  it('rejects (not throws synchronously) nothing valid, and rejects bad input before queueing', async () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
    await expect(lstm.forwardAsync(rand([5, 2, 4]))).rejects.toThrow(/x must have shape \[T, B, 3\]/);
  });
});

describe('state dict', () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2 });
  it('uses PyTorch names in PyTorch order', () => {
    expect(Object.keys(lstm.stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_hr_l0']);
    expect(lstm.stateDict().weight_hh_l0!.shape).toEqual([16, 2]);
  });
  it('round-trips and rejects missing, extra and misshaped keys without changing anything', () => {
    const sd = lstm.stateDict();
    const other = new LSTM({ inputSize: 3, hiddenSize: 4, projSize: 2 });
    other.loadStateDict(sd);
    expect(other.stateDict()).toEqual(sd);
    const before = other.stateDict();
    const { weight_hr_l0: _drop, ...missing } = sd;
    expectError(() => other.loadStateDict(missing), RangeError,
      /^lstm.loadStateDict: state dict does not match this LSTM: missing weight_hr_l0$/, 'ERR_LSTM_STATE_DICT');
    expectError(() => other.loadStateDict({ ...sd, weight_ih_l1: sd.weight_ih_l0! }), RangeError,
      /unexpected weight_ih_l1$/);
    expectError(() => other.loadStateDict({ ...sd, bias_ih_l0: rand([15]) }), RangeError,
      /^lstm.loadStateDict: bias_ih_l0 must have shape \[16\], got \[15\]$/);
    expect(other.stateDict()).toEqual(before);
  });
});

describe('native binding re-checks what TS checks', () => {
  const native = testingNative();
  it('throws RangeError for a short buffer instead of reading past it', () => {
    const base = { T: 2, B: 1, I: 3, H: 2, P: 0, reverse: false, wIh: new Float32Array(24), wHh: new Float32Array(16),
      bIh: new Float32Array(8), bHh: new Float32Array(8), x: new Float32Array(6), y: new Float32Array(4), yOffset: 0, ldy: 2,
      workspace: new Float32Array(native.lstmWorkspaceSize({ T: 2, B: 1, I: 3, H: 2, P: 0 })) };
    expect(() => native.lstmForward(base)).not.toThrow();
    expectError(() => native.lstmForward({ ...base, x: new Float32Array(5) }), RangeError,
      /^lstmForward: x must have 6 elements \(T\*B\*I\), got 5$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => native.lstmForward({ ...base, workspace: new Float32Array(3) }), RangeError, /workspace must have at least/);
    expectError(() => native.lstmForward({ ...base, wHh: new Float64Array(16) }), TypeError,
      /^lstmForward: wHh must be a Float32Array, got a Float64Array of 16 elements$/);
    expectError(() => native.lstmForward({ ...base, lengths: Int32Array.from([3]) }), RangeError,
      /^lstmForward: lengths\[0\] must be in \[0, 2\] \(T\), got 3$/);
    expectError(() => native.lstmForward({ ...base, yOffset: 1 }), RangeError, /yOffset \+ Hout must be <= ldy/);
    expectError(() => native.lstmForward({ ...base, T: 0 }), RangeError, /T must be an integer in \[1, /);
  });
});
