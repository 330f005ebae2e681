/**
 * Fuzzing the addon's entry points that take sizes, offsets and indices from the caller (the LSTM
 * calls: T, B, I, H, P, lengths, ldy, yOffset, dyOffset; the loss: N, C, class targets, class
 * weights; linear: N, in, out; the optimizers: buffer lengths): valid calls over small random
 * shapes are mutated (odd numbers, short or empty arrays, wrong element types, plain arrays,
 * detached buffers, out-of-range lengths and targets) and made sync and async. Every call must
 * return or throw an Error with a `code`; never crash, and never write outside the arrays it
 * was given (which `npm run test:asan` checks, where this file runs under AddressSanitizer).
 * The budget is LSTM_NATIVE_FUZZ_ADDON_CASES (default 10,000); LSTM_NATIVE_FUZZ_SEED picks the sequence.
 */
import { describe, expect, it } from 'vitest';
import { testingNative } from '../helpers/testing-addon.js';
import { Dice } from './dice.js';

const CASES = Number(process.env.LSTM_NATIVE_FUZZ_ADDON_CASES ?? 10_000);
const SEED = Number(process.env.LSTM_NATIVE_FUZZ_SEED ?? 20261208);
const native = testingNative();

type Call = Record<string, unknown>;

function oddNumber(d: Dice): unknown {
  return d.pick([-1, 0, 1, 2, 3, 7, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53, 1.5, Number.NaN, Infinity, -0, '3', null, undefined, true]);
}

/** A detached copy of `a` (its buffer transferred away). */
function detached(a: ArrayBufferView): ArrayBufferView {
  const copy = new (a.constructor as new (n: number) => Float32Array)((a as Float32Array).length);
  structuredClone(copy.buffer, { transfer: [copy.buffer as ArrayBuffer] });
  return copy;
}

function oddArray(d: Dice, a: unknown): unknown {
  // Arrays derived from `a` only when it is a live Float32Array (an earlier mutation may have made it anything).
  const arr = a instanceof Float32Array && a.buffer.byteLength > 0 ? a : new Float32Array(1 + d.int(8));
  return d.pick<() => unknown>([
    () => arr.subarray(0, Math.max(0, arr.length - 1 - d.int(3))),
    () => new Float32Array(0),
    () => new Float64Array(arr.length),
    () => new Float32Array(arr.length),
    () => new Int32Array(arr.length),
    () => new Uint8Array(arr.length),
    () => Array.from(arr),
    () => detached(arr),
    () => null, () => undefined, () => 'x', () => ({ length: 5 }),
    () => new Float32Array(arr.buffer, arr.byteOffset, Math.max(0, arr.length - 1)),
  ])();
}

const f32 = (d: Dice, n: number) => Float32Array.from({ length: n }, () => d.next() - 0.5);

function lstmCall(d: Dice, backward: boolean): Call {
  const T = 1 + d.int(6), B = 1 + d.int(4), I = 1 + d.int(5), H = 1 + d.int(9);
  const P = d.chance(0.2) ? 1 + d.int(H) : 0;
  const Hout = P || H;
  const ldy = Hout * (d.chance(0.3) ? 2 : 1);
  const base: Call = {
    T, B, I, H, P, reverse: d.chance(0.5), x: f32(d, T * B * I),
    wIh: f32(d, 4 * H * I), wHh: f32(d, 4 * H * Hout), bIh: f32(d, 4 * H), bHh: f32(d, 4 * H), wHr: P ? f32(d, P * H) : null,
    lengths: d.chance(0.5) ? Int32Array.from({ length: B }, () => d.int(T + 1)) : null,
    workspace: new Float32Array(native.lstmWorkspaceSize({ T, B, I, H, P, training: true } as never)),
  };
  if (!backward) {
    return { ...base, y: new Float32Array(T * B * ldy), yOffset: ldy > Hout ? d.int(2) * Hout : 0, ldy,
      h0: d.chance(0.5) ? f32(d, B * Hout) : null, c0: d.chance(0.5) ? f32(d, B * H) : null,
      hn: new Float32Array(B * Hout), cn: new Float32Array(B * H), training: d.chance(0.7) };
  }
  return { ...base, dy: f32(d, T * B * ldy), dyOffset: 0, ldy, dhn: f32(d, B * Hout), dcn: null,
    dx: new Float32Array(T * B * I), dh0: new Float32Array(B * Hout), dc0: null,
    dWIh: new Float32Array(4 * H * I), dWHh: new Float32Array(4 * H * Hout), dBIh: new Float32Array(4 * H),
    dBHh: new Float32Array(4 * H), dWHr: P ? new Float32Array(P * H) : null };
}

function lossCall(d: Dice): Call {
  const N = d.int(6), C = 1 + d.int(6);
  return { N, C, logits: f32(d, N * C), targets: Int32Array.from({ length: N }, () => d.int(C)), weight: d.chance(0.3) ? f32(d, C) : null,
    ignoreIndex: -100, labelSmoothing: d.chance(0.3) ? 0.1 : 0, reduction: d.pick(['mean', 'sum', 'none']), grad: new Float32Array(N * C),
    rowLoss: d.chance(0.5) ? new Float32Array(N) : null };
}

function linearCall(d: Dice, backward: boolean): Call {
  const N = 1 + d.int(5), i = 1 + d.int(5), o = 1 + d.int(5);
  const common = { N, in: i, out: o, x: f32(d, N * i), weight: f32(d, o * i) };
  return backward
    ? { ...common, dy: f32(d, N * o), dx: new Float32Array(N * i), dWeight: new Float32Array(o * i), dBias: new Float32Array(o) }
    : { ...common, y: new Float32Array(N * o), bias: d.chance(0.5) ? f32(d, o) : null };
}

function adamCall(d: Dice): Call {
  const n = d.int(40);
  return { param: f32(d, n), grad: f32(d, n), expAvg: new Float32Array(n), expAvgSq: new Float32Array(n),
    maxExpAvgSq: d.chance(0.3) ? new Float32Array(n) : null, step: 1, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8,
    weightDecay: 0, decoupledWeightDecay: false };
}

/** Changes 1-3 fields of a valid call: a size, an offset, an array, or lengths/targets values. */
function mutate(d: Dice, call: Call): Call {
  const out: Call = { ...call };
  const keys = Object.keys(out);
  for (let k = 1 + d.int(3); k > 0; k--) {
    const key = d.pick(keys);
    const v = out[key];
    if ((key === 'lengths' || key === 'targets') && v instanceof Int32Array && v.length > 0 && d.chance(0.6)) {
      const copy = v.slice();
      copy[d.int(copy.length)] = d.pick([-1, -100, 2 ** 31 - 1, -(2 ** 31), 7, 1000]);
      out[key] = copy;
    } else if (ArrayBuffer.isView(v) || v === null) {
      out[key] = oddArray(d, v);
    } else if (typeof v === 'number') {
      out[key] = d.chance(0.5) ? oddNumber(d) : v + d.pick([-1, 1, 2]);
    } else {
      out[key] = oddNumber(d);
    }
  }
  return out;
}

/** Calls `fn`, sync or async; a throw must be an Error with a code. Returns 'ok' or the code. */
async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof Error) || typeof (err as { code?: unknown }).code !== 'string') {
      throw new Error(`not a coded Error: ${String(err)}`, { cause: err });
    }
    return (err as unknown as { code: string }).code;
  }
}

describe('addon fuzzing', () => {
  it('kept regression case: yOffset near 2^31 is refused (offset + Hout overflowed int, and the forward wrote far outside y)', () => {
    const d = new Dice(1);
    for (const [key, value] of [['yOffset', 2 ** 31 - 1], ['yOffset', 2 ** 31 - 4], ['ldy', 2 ** 31 - 1]] as const) {
      const call = { ...lstmCall(d, false), [key]: value };
      let err: unknown;
      try {
        native.lstmForward(call as never);
      } catch (e) {
        err = e;
      }
      expect(err, `${key} ${value}`).toBeInstanceOf(RangeError);
      expect((err as { code?: string }).code).toBe('ERR_LSTM_ARG_RANGE');
    }
  });

  it(`${CASES} mutated calls over sizes, offsets, lengths and targets: each returns or throws a coded Error`, async () => {
    const d = new Dice(SEED);
    const tally = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const which = d.int(8);
      let name: string;
      let fn: () => unknown;
      const valid = d.chance(0.1);
      const m = (c: Call) => (valid ? c : mutate(d, c));
      if (which <= 1) {
        const c = m(lstmCall(d, false));
        name = which === 0 ? 'lstmForward' : 'lstmForwardAsync';
        fn = () => (native as unknown as Record<string, (c: Call) => unknown>)[name]!(c);
      } else if (which <= 3) {
        const c = m(lstmCall(d, true));
        name = which === 2 ? 'lstmBackward' : 'lstmBackwardAsync';
        fn = () => (native as unknown as Record<string, (c: Call) => unknown>)[name]!(c);
      } else if (which === 4) {
        const c = m(lossCall(d));
        name = 'softmaxCrossEntropy';
        fn = () => native.softmaxCrossEntropy(c as never);
      } else if (which === 5) {
        const c = m(linearCall(d, false));
        name = 'linearForward';
        fn = () => native.linearForward(c as never);
      } else if (which === 6) {
        const c = m(linearCall(d, true));
        name = 'linearBackward';
        fn = () => native.linearBackward(c as never);
      } else {
        const c = m(adamCall(d));
        name = 'adamStep';
        fn = () => native.adamStep(c as never);
      }
      let got: string;
      try {
        got = await outcome(fn);
      } catch (err) {
        throw new Error(`case ${i} (seed ${SEED}), ${name}: ${(err as Error).message}`, { cause: err });
      }
      const key = `${name}:${got}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    // Both outcomes occur for the LSTM calls, or the mutations test nothing.
    expect(tally.get('lstmForward:ok') ?? 0).toBeGreaterThan(0);
    expect([...tally.keys()].some((k) => k.startsWith('lstmForward:ERR_'))).toBe(true);
    expect([...tally.keys()].some((k) => k.startsWith('lstmBackwardAsync:ERR_'))).toBe(true);
  }, 300_000);
});
