/**
 * The losses against a plain float64 reference written here from PyTorch's formulas (MSELoss,
 * L1Loss, HuberLoss, CrossEntropyLoss with ignore_index / label_smoothing / weight,
 * BCEWithLogitsLoss with pos_weight), every gradient against central finite differences of that
 * reference, a few numbers from PyTorch itself, the fused native path at a large vocabulary,
 * extreme logits, and the full text of the argument errors.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { losses, type LossResult, type Reduction } from '../../lib/losses.js';
import { testingNative } from '../helpers/testing-addon.js';
import { backendInfo, setNumThreads } from '../../lib/backend.js';
import type { Tensor } from '../../lib/tensor.js';
import { compare, randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const next = rng(7);
const rand = (shape: number[], scale = 1): Tensor =>
  ({ data: randomArray(Float32Array, shape.reduce((a, b) => a * b, 1), next, scale), shape });
const randInt = (n: number): number => Math.floor(next() * n);

/** True when two float arrays hold the same bits (fast for large arrays, unlike toEqual). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Asserts |actual - expected| <= atol + rtol |expected| everywhere, reporting the worst element. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = '') {
  const d = compare(actual, expected, rtol, atol);
  expect(d.worstRatio, `${what} worst at ${d.at}: ${actual[d.at]} vs ${expected[d.at]} (max abs ${d.maxAbs})`)
    .toBeLessThanOrEqual(1);
}

// ---- float64 references, straight from PyTorch's definitions ---------------------------------------

type Ref = (x: Float64Array) => number;  // the reduced loss (the SUM of the losses for 'none')

function reduce(each: Float64Array, reduction: Reduction, denominator = each.length): number | Float64Array {
  let s = 0;
  for (const v of each) s += v;
  return reduction === 'none' ? each : reduction === 'sum' ? s : s / denominator;
}

function refElementwise(kind: 'mse' | 'mae' | 'huber', p: ArrayLike<number>, t: ArrayLike<number>,
  reduction: Reduction, delta = 1): number | Float64Array {
  const each = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const d = p[i]! - t[i]!;
    each[i] = kind === 'mse' ? d * d : kind === 'mae' ? Math.abs(d)
      : Math.abs(d) < delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta);
  }
  return reduce(each, reduction);
}

interface CeRefOptions { ignoreIndex?: number; eps?: number; weight?: ArrayLike<number>; reduction?: Reduction }

/** PyTorch CrossEntropyLoss on (N, C) rows: log_softmax, nll with weights, smoothing, ignore. */
function refCrossEntropy(x: ArrayLike<number>, N: number, C: number, targets: ArrayLike<number>,
  o: CeRefOptions = {}): number | Float64Array {
  const ignore = o.ignoreIndex ?? -100;
  const eps = o.eps ?? 0;
  const w = (c: number) => (o.weight ? o.weight[c]! : 1);
  const rows = new Float64Array(N);
  let denominator = 0;
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t === ignore) continue;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[n * C + c]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[n * C + c]! - m);
    const lse = m + Math.log(s);
    let smooth = 0;
    for (let c = 0; c < C; c++) smooth += w(c) * (lse - x[n * C + c]!);
    rows[n] = (1 - eps) * w(t) * (lse - x[n * C + t]!) + (eps / C) * smooth;
    denominator += w(t);
  }
  return reduce(rows, o.reduction ?? 'mean', denominator);
}

function refBce(x: ArrayLike<number>, y: ArrayLike<number>, C: number, posWeight: ArrayLike<number> | null,
  reduction: Reduction): number | Float64Array {
  const each = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // -[pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], with log sigmoid written stably
    const pw = posWeight ? posWeight[i % C]! : 1;
    const logSig = -(Math.log1p(Math.exp(-Math.abs(x[i]!))) + Math.max(-x[i]!, 0));
    const logOneMinusSig = logSig - x[i]!;
    each[i] = -(pw * y[i]! * logSig + (1 - y[i]!) * logOneMinusSig);
  }
  return reduce(each, reduction);
}

const total = (v: number | Float64Array): number => (typeof v === 'number' ? v : v.reduce((a, b) => a + b, 0));

/** Central differences of a float64 loss at x (float32 values), for every index in `at` (default all). */
function finiteDifferences(f: Ref, x: Float32Array, at?: number[], h = 1e-4): Float64Array {
  const base = Float64Array.from(x);
  const idx = at ?? [...base.keys()];
  const out = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    const xi = base[i]!;
    base[i] = xi + h; const up = f(base);
    base[i] = xi - h; const down = f(base);
    base[i] = xi;
    out[k] = (up - down) / (2 * h);
  });
  return out;
}

const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];

// ---- elementwise losses ----------------------------------------------------------------------------

describe('mse, mae, huber', () => {
  const pred = rand([3, 4, 5], 2);
  const target = rand([3, 4, 5], 2);
  const cases = [
    { name: 'mse', run: (r: Reduction) => losses.mse(pred, target, { reduction: r }), ref: (p: ArrayLike<number>, r: Reduction) => refElementwise('mse', p, target.data, r) },
    { name: 'mae', run: (r: Reduction) => losses.mae(pred, target, { reduction: r }), ref: (p: ArrayLike<number>, r: Reduction) => refElementwise('mae', p, target.data, r) },
    { name: 'huber', run: (r: Reduction) => losses.huber(pred, target, { reduction: r }), ref: (p: ArrayLike<number>, r: Reduction) => refElementwise('huber', p, target.data, r) },
    { name: 'huber delta 0.3', run: (r: Reduction) => losses.huber(pred, target, { reduction: r, delta: 0.3 }), ref: (p: ArrayLike<number>, r: Reduction) => refElementwise('huber', p, target.data, r, 0.3) },
  ];
  for (const c of cases) {
    for (const r of REDUCTIONS) {
      it(`${c.name} (${r}) matches the float64 reference and finite differences`, () => {
        const { loss, grad } = c.run(r);
        const expected = c.ref(pred.data, r);
        if (r === 'none') {
          const l = loss as Tensor;
          expect(l.shape).toEqual([3, 4, 5]);
          expectClose(l.data, expected as Float64Array, 1e-6, 1e-7, 'loss');
        } else {
          expect(loss as number).toBeCloseTo(expected as number, 5);
        }
        expect(grad.shape).toEqual([3, 4, 5]);
        const fd = finiteDifferences((x) => total(c.ref(x, r)), pred.data);
        expectClose(grad.data, fd, 1e-4, 1e-6, 'grad');
      });
    }
  }

  it('gives the mean of an empty tensor as NaN (PyTorch) and an empty gradient', () => {
    const empty: Tensor = { data: new Float32Array(0), shape: [0, 3] };
    const { loss, grad } = losses.mse(empty, empty);
    expect(loss).toBeNaN();
    expect(grad.shape).toEqual([0, 3]);
  });

  it('matches numbers produced by PyTorch', () => {
    const p: Tensor = { data: Float32Array.from({ length: 6 }, (_, i) => (((i * 29) % 23) - 11) / 2), shape: [6] };
    const t: Tensor = { data: Float32Array.from({ length: 6 }, (_, i) => (((i * 11) % 7) - 3) / 2), shape: [6] };
    expect(losses.mse(p, t).loss).toBeCloseTo(TORCH.mse, 6);
    expect(losses.mae(p, t).loss).toBeCloseTo(TORCH.mae, 6);
    expect(losses.huber(p, t, { delta: 0.5 }).loss).toBeCloseTo(TORCH.huberDelta05, 6);
    expect(losses.huber(p, t, { reduction: 'sum' }).loss).toBeCloseTo(TORCH.huberSum, 6);
  });
});

// ---- cross-entropy ---------------------------------------------------------------------------------

describe('crossEntropy', () => {
  const B = 2, T = 3, C = 7, N = B * T;
  const logits = rand([B, T, C], 3);
  const targets: Tensor<Int32Array> = { data: Int32Array.from([0, 6, -100, 3, 1, 6]), shape: [B, T] };
  const weight: Tensor = { data: Float32Array.from([0.5, 1, 2, 1.5, 0.25, 1.25, 0.75]), shape: [C] };
  const variants: { name: string; opts: { labelSmoothing?: number; weight?: Tensor; ignoreIndex?: number }; ref: CeRefOptions }[] = [
    { name: 'plain', opts: {}, ref: {} },
    { name: 'class weights', opts: { weight }, ref: { weight: weight.data } },
    { name: 'label smoothing 0.1', opts: { labelSmoothing: 0.1 }, ref: { eps: 0.1 } },
    { name: 'weights and smoothing 0.3', opts: { weight, labelSmoothing: 0.3 }, ref: { weight: weight.data, eps: 0.3 } },
    { name: 'smoothing 1', opts: { labelSmoothing: 1 }, ref: { eps: 1 } },
  ];
  for (const v of variants) {
    for (const r of REDUCTIONS) {
      it(`${v.name} (${r}) matches the float64 reference and finite differences`, () => {
        const { loss, grad } = losses.crossEntropy(logits, targets, { ...v.opts, reduction: r });
        const ref = (x: ArrayLike<number>) => refCrossEntropy(x, N, C, targets.data, { ...v.ref, reduction: r });
        const expected = ref(logits.data);
        if (r === 'none') {
          const l = loss as Tensor;
          expect(l.shape).toEqual([B, T]);
          expectClose(l.data, expected as Float64Array, 1e-6, 1e-6, 'loss');
          expect(l.data[2]).toBe(0);  // the ignored row
        } else {
          expect(Math.abs((loss as number) - (expected as number))).toBeLessThan(1e-6 * Math.abs(expected as number) + 1e-7);
        }
        expect(grad.shape).toEqual([B, T, C]);
        for (let c = 0; c < C; c++) expect(grad.data[2 * C + c]).toBe(0);  // ignored row: no gradient
        const fd = finiteDifferences((x) => total(ref(x)), logits.data);
        expectClose(grad.data, fd, 1e-4, 1e-6, 'grad');
      });
    }
  }

  it('with reduction none gives the gradient of the sum of the row losses', () => {
    const none = losses.crossEntropy(logits, targets, { reduction: 'none', labelSmoothing: 0.2, weight });
    const sum = losses.crossEntropy(logits, targets, { reduction: 'sum', labelSmoothing: 0.2, weight });
    expect(none.grad.data).toEqual(sum.grad.data);
    expect(none.loss.data.reduce((a, b) => a + b, 0)).toBeCloseTo(sum.loss, 4);
  });

  it('accepts BigInt64Array targets with the same results, and a custom ignoreIndex (also a class index)', () => {
    const big: Tensor<BigInt64Array> = { data: BigInt64Array.from([0n, 6n, -100n, 3n, 1n, 6n]), shape: [B, T] };
    const a = losses.crossEntropy(logits, targets, { labelSmoothing: 0.1 });
    const b = losses.crossEntropy(logits, big, { labelSmoothing: 0.1 });
    expect(b.loss).toBe(a.loss);
    expect(b.grad.data).toEqual(a.grad.data);
    // ignoreIndex 6 drops the two rows whose target is class 6; -100 is then out of range.
    const t6: Tensor<Int32Array> = { data: Int32Array.from([0, 6, 2, 3, 1, 6]), shape: [B, T] };
    const c = losses.crossEntropy(logits, t6, { ignoreIndex: 6, reduction: 'none' });
    const expected = refCrossEntropy(logits.data, N, C, t6.data, { ignoreIndex: 6, reduction: 'none' }) as Float64Array;
    expectClose(c.loss.data, expected, 1e-6, 1e-6);
    expect(c.loss.data[1]).toBe(0);
    expect(c.loss.data[5]).toBe(0);
  });

  it('takes any leading dims: (N, C), (C) with a scalar target, (B, T, V)', () => {
    const flat = losses.crossEntropy({ data: logits.data, shape: [N, C] }, { data: targets.data, shape: [N] });
    expect(flat.loss).toBe(losses.crossEntropy(logits, targets).loss);
    const one = losses.crossEntropy({ data: logits.data.slice(0, C), shape: [C] }, { data: Int32Array.from([4]), shape: [] });
    expect(one.loss).toBeCloseTo(refCrossEntropy(logits.data.slice(0, C), 1, C, [4]) as number, 5);
    expect(one.grad.shape).toEqual([C]);
  });

  it('writes into gradOut when given, also in place over the logits', () => {
    const expected = losses.crossEntropy(logits, targets, { labelSmoothing: 0.1, weight });
    const out: Tensor = { data: new Float32Array(N * C).fill(7), shape: [B, T, C] };
    const got = losses.crossEntropy(logits, targets, { labelSmoothing: 0.1, weight, gradOut: out });
    expect(got.grad).toBe(out);
    expect(got.loss).toBe(expected.loss);
    expect(out.data).toEqual(expected.grad.data);
    const copy: Tensor = { data: logits.data.slice(), shape: [B, T, C] };
    const inPlace = losses.crossEntropy(copy, targets, { labelSmoothing: 0.1, weight, gradOut: copy });
    expect(inPlace.loss).toBe(expected.loss);
    expect(copy.data).toEqual(expected.grad.data);
  });

  it('gives NaN for the mean of a fully ignored batch (as PyTorch) and a zero gradient', () => {
    const all: Tensor<Int32Array> = { data: new Int32Array(N).fill(-100), shape: [B, T] };
    const { loss, grad } = losses.crossEntropy(logits, all, { labelSmoothing: 0.1, weight });
    expect(loss).toBeNaN();
    expect(grad.data.every((g) => g === 0)).toBe(true);
    expect(losses.crossEntropy(logits, all, { reduction: 'sum' }).loss).toBe(0);
  });

  it('matches numbers produced by PyTorch', () => {
    const x: Tensor = { data: Float32Array.from({ length: 30 }, (_, i) => (((i * 29) % 23) - 11) / 3), shape: [2, 3, 5] };
    const t: Tensor<BigInt64Array> = { data: BigInt64Array.from([0n, 4n, -100n, 2n, 1n, 3n]), shape: [2, 3] };
    const w: Tensor = { data: Float32Array.from([0.5, 1, 2, 1.5, 0.25]), shape: [5] };
    expect(losses.crossEntropy(x, t).loss).toBeCloseTo(TORCH.ce.mean, 5);
    expect(losses.crossEntropy(x, t, { weight: w }).loss).toBeCloseTo(TORCH.ce.weightMean, 5);
    expect(losses.crossEntropy(x, t, { labelSmoothing: 0.1, reduction: 'sum' }).loss).toBeCloseTo(TORCH.ce.smoothSum, 5);
    const both = losses.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1 });
    expect(both.loss).toBeCloseTo(TORCH.ce.weightSmoothMean, 5);
    expectClose(both.grad.data, TORCH.ce.weightSmoothMeanGrad, 1e-4, 1e-6, 'grad');
    const none = losses.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1, reduction: 'none' });
    expectClose(none.loss.data, TORCH.ce.weightSmoothNone, 1e-5, 1e-6, 'rows');
  });

  it('stays finite for logits of +-1e4', () => {
    const x: Tensor = { data: Float32Array.from([1e4, -1e4, 0, -1e4, 1e4, 1e4, 5e3, -5e3, -1e4]), shape: [3, 3] };
    const t: Tensor<Int32Array> = { data: Int32Array.from([1, 0, 2]), shape: [3] };
    for (const labelSmoothing of [0, 0.1]) {
      const { loss, grad } = losses.crossEntropy(x, t, { labelSmoothing, reduction: 'none' });
      const expected = refCrossEntropy(x.data, 3, 3, t.data, { eps: labelSmoothing, reduction: 'none' }) as Float64Array;
      expect(expected[0]).toBeGreaterThan(1e4);
      expectClose(loss.data, expected, 1e-6, 1e-3);
      expect(grad.data.every(Number.isFinite)).toBe(true);
      // row 0: p = (1, 0, 0) with target 1: grad = p - smoothed one-hot
      expect(grad.data[0]).toBeCloseTo(1 - labelSmoothing / 3, 6);
      expect(grad.data[1]).toBeCloseTo(-(1 - labelSmoothing) - labelSmoothing / 3, 6);
    }
  });

  it('propagates a NaN logit to its own row only', () => {
    const x: Tensor = { data: Float32Array.from([0, NaN, 1, 0.5, 0.25, 2]), shape: [2, 3] };
    const { loss, grad } = losses.crossEntropy(x, { data: Int32Array.from([0, 2]), shape: [2] }, { reduction: 'none' });
    expect(loss.data[0]).toBeNaN();
    expect(grad.data.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(loss.data[1]).toBeCloseTo(refCrossEntropy([0.5, 0.25, 2], 1, 3, [2]) as number, 6);
  });
});

describe('crossEntropy at a large vocabulary (fused native path)', () => {
  const N = 64, C = 5000;
  const logits = rand([N, C], 4);
  const targets: Tensor<Int32Array> = { data: Int32Array.from({ length: N }, (_, n) => (n % 7 === 3 ? -100 : randInt(C))), shape: [N] };
  const weight: Tensor = { data: Float32Array.from({ length: C }, () => 0.5 + next()), shape: [C] };
  const opts = { weight, labelSmoothing: 0.1 };
  const ref = (x: ArrayLike<number>) => refCrossEntropy(x, N, C, targets.data, { weight: weight.data, eps: 0.1 }) as number;

  it('matches the reference loss and, on sampled elements, finite differences', () => {
    const { loss, grad } = losses.crossEntropy(logits, targets, opts);
    expect(Math.abs(loss - ref(logits.data))).toBeLessThan(1e-6 * Math.abs(loss));
    // the targets' own logits (largest gradients) and random others, ignored rows included
    const at = [...Array.from({ length: 12 }, (_, n) => n * C + Math.max(0, targets.data[n]!)),
      ...Array.from({ length: 24 }, () => randInt(N * C))];
    const fd = finiteDifferences(ref, logits.data, at);
    expectClose(at.map((i) => grad.data[i]!), fd, 1e-3, 1e-9, 'grad');
  });

  it('matches the analytic float64 gradient everywhere', () => {
    const { grad } = losses.crossEntropy(logits, targets, opts);
    const expected = new Float64Array(N * C);
    let denominator = 0, W = 0;
    for (let c = 0; c < C; c++) W += weight.data[c]!;
    for (let n = 0; n < N; n++) if (targets.data[n] !== -100) denominator += weight.data[targets.data[n]!]!;
    for (let n = 0; n < N; n++) {
      const t = targets.data[n]!;
      if (t === -100) continue;
      const row = logits.data.subarray(n * C, (n + 1) * C);
      const m = Math.max(...row);
      let s = 0;
      for (const v of row) s += Math.exp(v - m);
      const wt = weight.data[t]!;
      for (let c = 0; c < C; c++) {
        const p = Math.exp(row[c]! - m) / s;
        expected[n * C + c] = (p * (0.9 * wt + 0.1 * W / C) - (c === t ? 0.9 * wt : 0) - 0.1 * weight.data[c]! / C) / denominator;
      }
    }
    expectClose(grad.data, expected, 1e-4, 1e-10, 'grad');
  });

  it('gives bit-identical results with 1 and 2 threads', () => {
    const before = backendInfo().threads;
    try {
      setNumThreads(1);
      const a = losses.crossEntropy(logits, targets, opts);
      setNumThreads(2);
      const b = losses.crossEntropy(logits, targets, opts);
      expect(b.loss).toBe(a.loss);
      expect(sameBits(b.grad.data, a.grad.data)).toBe(true);
    } finally {
      setNumThreads(before);
    }
  });

  it('gives the same answers with every compiled variant of the loops (baseline and AVX2)', () => {
    const native = testingNative();
    const expected = ref(logits.data);
    const isas = native._supportedIsas();
    expect(isas).toContain('scalar');
    const grads = isas.map((isa) => {
      const grad = new Float32Array(N * C);
      const loss = native.softmaxCrossEntropy({
        N, C, logits: logits.data, targets: targets.data, weight: weight.data, ignoreIndex: -100, labelSmoothing: 0.1,
        reduction: 'mean', grad, isa,
      });
      expect(Math.abs(loss - expected), isa).toBeLessThan(1e-6 * Math.abs(expected));
      return grad;
    });
    for (const g of grads.slice(1)) expectClose(g, grads[0]!, 1e-5, 1e-10, 'variant vs first');
  });

  it('computes in place when the native grad buffer is the logits buffer', () => {
    const expected = losses.crossEntropy(logits, targets, { ...opts, reduction: 'none' });
    const buf = logits.data.slice();
    const rowLoss = new Float32Array(N);
    const sum = testingNative().softmaxCrossEntropy({
      N, C, logits: buf, targets: targets.data, weight: weight.data, ignoreIndex: -100, labelSmoothing: 0.1,
      reduction: 'none', grad: buf, rowLoss,
    });
    expect(sameBits(buf, expected.grad.data)).toBe(true);
    expect(sameBits(rowLoss, expected.loss.data)).toBe(true);
    expect(sum).toBeCloseTo(expected.loss.data.reduce((a, b) => a + b, 0), 2);
  });
});

// ---- binary cross-entropy with logits ---------------------------------------------------------------

describe('binaryCrossEntropyWithLogits', () => {
  const x = rand([4, 3], 4);
  const y: Tensor = { data: Float32Array.from({ length: 12 }, (_, i) => (i % 4) / 3), shape: [4, 3] };  // soft labels too
  const posWeight: Tensor = { data: Float32Array.from([1, 2.5, 0.4]), shape: [3] };
  for (const pw of [null, posWeight]) {
    for (const r of REDUCTIONS) {
      it(`${pw ? 'with posWeight' : 'plain'} (${r}) matches the float64 reference and finite differences`, () => {
        const { loss, grad } = losses.binaryCrossEntropyWithLogits(x, y, pw ? { posWeight: pw, reduction: r } : { reduction: r });
        const ref = (v: ArrayLike<number>) => refBce(v, y.data, 3, pw ? pw.data : null, r);
        const expected = ref(x.data);
        if (r === 'none') expectClose((loss as Tensor).data, expected as Float64Array, 1e-6, 1e-7, 'loss');
        else expect(loss as number).toBeCloseTo(expected as number, 6);
        expect(grad.shape).toEqual([4, 3]);
        expectClose(grad.data, finiteDifferences((v) => total(ref(v)), x.data), 1e-4, 1e-6, 'grad');
      });
    }
  }

  it('stays finite for logits of +-1e4', () => {
    const big: Tensor = { data: Float32Array.from([1e4, -1e4, 1e4, -1e4]), shape: [4] };
    const t: Tensor = { data: Float32Array.from([1, 1, 0, 0]), shape: [4] };
    const { loss, grad } = losses.binaryCrossEntropyWithLogits(big, t, { reduction: 'none' });
    expect(Array.from(loss.data)).toEqual([0, 1e4, 1e4, 0]);
    expect(Array.from(grad.data)).toEqual([0, -1, 1, 0]);
  });

  it('matches numbers produced by PyTorch', () => {
    const xt: Tensor = { data: Float32Array.from({ length: 6 }, (_, i) => (((i * 29) % 23) - 11) / 2), shape: [2, 3] };
    const yt: Tensor = { data: Float32Array.from({ length: 6 }, (_, i) => (i % 3) / 2), shape: [2, 3] };
    const pw: Tensor = { data: Float32Array.from([1, 2, 0.5]), shape: [3] };
    const { loss, grad } = losses.binaryCrossEntropyWithLogits(xt, yt, { posWeight: pw });
    expect(loss).toBeCloseTo(TORCH.bce.mean, 6);
    expectClose(grad.data, TORCH.bce.grad, 1e-5, 1e-7);
    expect(losses.binaryCrossEntropyWithLogits(xt, yt, { posWeight: pw, reduction: 'sum' }).loss).toBeCloseTo(TORCH.bce.sum, 5);
  });
});

// ---- types -------------------------------------------------------------------------------------------

describe('result types', () => {
  it('types loss as a number unless reduction is none', () => {
    const p = rand([2]);
    expectTypeOf(losses.mse(p, p).loss).toEqualTypeOf<number>();
    expectTypeOf(losses.mae(p, p, { reduction: 'sum' }).loss).toEqualTypeOf<number>();
    expectTypeOf(losses.huber(p, p, { reduction: 'none' }).loss).toEqualTypeOf<Tensor>();
    const t: Tensor<Int32Array> = { data: Int32Array.from([0]), shape: [] };
    expectTypeOf(losses.crossEntropy(p, t).loss).toEqualTypeOf<number>();
    expectTypeOf(losses.crossEntropy(p, t, { reduction: 'none' }).loss).toEqualTypeOf<Tensor>();
    expectTypeOf(losses.binaryCrossEntropyWithLogits(p, p, { reduction: 'none' })).toEqualTypeOf<LossResult<'none'>>();
    const r = 'sum' as Reduction;
    expectTypeOf(losses.mse(p, p, { reduction: r }).loss).toEqualTypeOf<number | Tensor>();
  });
});

// ---- argument errors ---------------------------------------------------------------------------------

describe('argument errors', () => {
  const logits = rand([2, 3, 5]);
  const targets: Tensor<Int32Array> = { data: Int32Array.from([0, 1, 2, 3, 4, 0]), shape: [2, 3] };

  it('names a shape mismatch', () => {
    expectError(() => losses.mse(rand([2, 3]), rand([2, 4])), RangeError,
      /^losses\.mse: target must have shape \[2, 3\] \(the shape of pred\), got \[2, 4\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => losses.binaryCrossEntropyWithLogits(rand([4]), rand([4, 1])), RangeError,
      /^losses\.binaryCrossEntropyWithLogits: targets must have shape \[4\] \(the shape of logits\), got \[4, 1\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => losses.crossEntropy(logits, { data: new Int32Array(8), shape: [2, 4] }), RangeError,
      /^losses\.crossEntropy: targets must have shape \[2, 3\] \(the shape of logits \[2, 3, 5\] without its last \(class\) dim\), got \[2, 4\]$/,
      'ERR_LSTM_SHAPE');
    expectError(() => losses.crossEntropy({ data: new Float32Array(1), shape: [] }, targets), RangeError,
      /^losses\.crossEntropy: logits must have shape \[\.\.\., C\] with C >= 1 classes in the last dim, got \[\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => losses.crossEntropy(logits, targets, { weight: rand([4]) }), RangeError,
      /^losses\.crossEntropy: weight must have shape \[5\] \(one per class, C = 5\), got \[4\]$/, 'ERR_LSTM_SHAPE');
    expectError(() => losses.binaryCrossEntropyWithLogits(rand([2, 3]), rand([2, 3]), { posWeight: rand([2]) }), RangeError,
      /^losses\.binaryCrossEntropyWithLogits: posWeight must have shape \[3\] \(one per class: the last dim of logits\), got \[2\]$/);
  });

  it('names a wrong dtype', () => {
    expectError(() => losses.crossEntropy(logits, { data: new Float32Array(6), shape: [2, 3] } as never), TypeError,
      /^losses\.crossEntropy: targets\.data must be an Int32Array or a BigInt64Array of class indices, got a Float32Array of 6 elements$/,
      'ERR_LSTM_ARG_TYPE');
    expectError(() => losses.crossEntropy({ data: new Float64Array(30), shape: [2, 3, 5] } as never, targets), TypeError,
      /^losses\.crossEntropy: logits\.data must be a Float32Array, got a Float64Array of 30 elements$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => losses.mse(new Float32Array(3) as never, rand([3])), TypeError,
      /^losses\.mse: pred must be a tensor \{data: Float32Array, shape: number\[\]\}, got a Float32Array of 3 elements \(wrap it with tensor\(data, shape\)\)$/);
    expectError(() => losses.crossEntropy(logits, new Int32Array(6) as never), TypeError,
      /^losses\.crossEntropy: targets must be a tensor \{data: Int32Array, shape: number\[\]\}, got an Int32Array of 6 elements/);
  });

  it('names a target out of range by its flat position and value', () => {
    const bad: Tensor<Int32Array> = { data: Int32Array.from([0, 1, 2, 3, 7, 0]), shape: [2, 3] };
    expectError(() => losses.crossEntropy(logits, bad), RangeError,
      /^losses\.crossEntropy: targets\[4\] \(index \[1, 1\]\) must be a class index in \[0, 5\) or ignoreIndex \(-100\), got 7$/,
      'ERR_LSTM_ARG_RANGE');
    const neg: Tensor<BigInt64Array> = { data: BigInt64Array.from([0n, -1n, 2n, 3n, 4n, 0n]), shape: [2, 3] };
    expectError(() => losses.crossEntropy(logits, neg), RangeError,
      /^losses\.crossEntropy: targets\[1\] \(index \[0, 1\]\) must be a class index in \[0, 5\) or ignoreIndex \(-100\), got -1$/);
    const huge: Tensor<BigInt64Array> = { data: BigInt64Array.from([5n]), shape: [1] };
    expectError(() => losses.crossEntropy({ data: new Float32Array(5), shape: [1, 5] }, huge, { ignoreIndex: -1 }), RangeError,
      /^losses\.crossEntropy: targets\[0\] must be a class index in \[0, 5\) or ignoreIndex \(-1\), got 5$/);
    // the ignoreIndex default no longer applies once another is given
    expectError(() => losses.crossEntropy(logits, { data: Int32Array.from([0, 1, -100, 3, 4, 0]), shape: [2, 3] }, { ignoreIndex: 3 }),
      RangeError, /targets\[2\] \(index \[0, 2\]\) must be a class index in \[0, 5\) or ignoreIndex \(3\), got -100$/);
  });

  it('rejects an unknown option with a suggestion', () => {
    expectError(() => losses.crossEntropy(logits, targets, { labelSmoothng: 0.1 } as never), RangeError,
      /^losses\.crossEntropy: unknown option "labelSmoothng" \(did you mean "labelSmoothing"\?\); known options: gradOut, ignoreIndex, labelSmoothing, reduction, weight$/,
      'ERR_LSTM_ARG_RANGE');
    expectError(() => losses.huber(rand([2]), rand([2]), { Delta: 2 } as never), RangeError,
      /^losses\.huber: unknown option "Delta" \(did you mean "delta"\?\); known options: delta, reduction$/);
    expectError(() => losses.binaryCrossEntropyWithLogits(rand([2]), rand([2]), { pos_weight: rand([2]) } as never), RangeError,
      /^losses\.binaryCrossEntropyWithLogits: unknown option "pos_weight" \(did you mean "posWeight"\?\); known options: posWeight, reduction$/);
  });

  it('rejects labelSmoothing outside [0, 1], never clamps', () => {
    for (const v of [1.5, -0.1]) {
      expectError(() => losses.crossEntropy(logits, targets, { labelSmoothing: v }), RangeError,
        new RegExp(`^losses\\.crossEntropy: labelSmoothing must be a finite number in \\[0, 1\\], got the number ${v}$`), 'ERR_LSTM_ARG_RANGE');
    }
    expectError(() => losses.crossEntropy(logits, targets, { labelSmoothing: '0.1' as never }), TypeError,
      /^losses\.crossEntropy: labelSmoothing must be a number, got the string "0\.1"$/);
  });

  it('rejects other bad option values', () => {
    expectError(() => losses.mse(rand([2]), rand([2]), { reduction: 'avg' as never }), RangeError,
      /^losses\.mse: reduction must be 'mean', 'sum' or 'none', got the string "avg"$/);
    expectError(() => losses.mse(rand([2]), rand([2]), { reduction: 1 as never }), TypeError,
      /^losses\.mse: reduction must be 'mean', 'sum' or 'none', got the number 1$/);
    expectError(() => losses.huber(rand([2]), rand([2]), { delta: 0 }), RangeError,
      /^losses\.huber: delta must be a finite number > 0, got the number 0$/);
    expectError(() => losses.crossEntropy(logits, targets, { ignoreIndex: 1.5 }), RangeError,
      /^losses\.crossEntropy: ignoreIndex must be an integer in \[-2147483648, 2147483647\], got the number 1\.5$/);
    expectError(() => losses.crossEntropy(logits, targets, { weight: { data: Float32Array.from([1, 1, NaN, 1, 1]), shape: [5] } }),
      RangeError, /^losses\.crossEntropy: weight\[2\] must be finite, got the number NaN$/);
    expectError(() => losses.crossEntropy(logits, targets, { gradOut: rand([2, 3, 4]) }), RangeError,
      /^losses\.crossEntropy: gradOut must have shape \[2, 3, 5\] \(the shape of logits\), got \[2, 3, 4\]$/, 'ERR_LSTM_SHAPE');
    const wide = new Float32Array(35);
    const x: Tensor = { data: wide.subarray(0, 30), shape: [2, 3, 5] };
    expectError(() => losses.crossEntropy(x, targets, { gradOut: { data: wide.subarray(5, 35), shape: [2, 3, 5] } }), RangeError,
      /^losses\.crossEntropy: gradOut must be logits itself or not overlap it, got a view that partly overlaps logits$/);
  });

  it('the native entry point checks lengths and targets itself', () => {
    const native = testingNative();
    const call = {
      N: 2, C: 5, logits: new Float32Array(10), targets: Int32Array.from([0, 9]), ignoreIndex: -100, labelSmoothing: 0,
      reduction: 'mean' as const, grad: new Float32Array(10),
    };
    expectError(() => native.softmaxCrossEntropy(call), RangeError,
      /^softmaxCrossEntropy: targets\[1\] must be a class index in \[0, 5\) or ignoreIndex \(-100\), got 9$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => native.softmaxCrossEntropy({ ...call, targets: Int32Array.from([0, 1]), grad: new Float32Array(9) }), RangeError,
      /^softmaxCrossEntropy: grad must have 10 elements \(N\*C\), got 9$/);
    expectError(() => native.softmaxCrossEntropy({ ...call, targets: new Float32Array(2) as never }), TypeError,
      /^softmaxCrossEntropy: targets must be a Int32Array, got a Float32Array of 2 elements$/);
    expectError(() => native.softmaxCrossEntropy({ ...call, targets: Int32Array.from([0, 1]), labelSmoothing: 2 }), RangeError,
      /^softmaxCrossEntropy: labelSmoothing must be a finite number in \[0, 1\], got the number 2$/);
    expectError(() => native.softmaxCrossEntropy({ ...call, targets: Int32Array.from([0, 1]), reduction: 'avg' as never }), RangeError,
      /^softmaxCrossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"$/);
    expectError(() => native.softmaxCrossEntropy({ ...call, targets: Int32Array.from([0, 1]), isa: 'sse9' }), RangeError,
      /^softmaxCrossEntropy: isa must be one of the ISAs this CPU runs \(see _supportedIsas\(\)\), got "sse9"$/);
  });
});

/**
 * Expected values produced once with PyTorch 1.13 (CPU, float64) by
 *   x = torch.tensor([((i*29) % 23 - 11) / div for i in range(n)], dtype=torch.float64)
 * (div 3 for the (2, 3, 5) cross-entropy logits, div 2 for the others), and
 *   F.cross_entropy(x.reshape(6, 5), t, weight=w, label_smoothing=..., reduction=...) with
 *   t = [0, 4, -100, 2, 1, 3], w = [0.5, 1, 2, 1.5, 0.25];
 *   F.binary_cross_entropy_with_logits(x.reshape(2, 3), y, pos_weight=[1, 2, 0.5]) with y_i = (i % 3) / 2;
 *   F.mse_loss / F.l1_loss / F.huber_loss(x, t) with t_i = ((i*11) % 7 - 3) / 2;
 * gradients by torch.autograd.grad. The inputs are exact in float32, so they are the same here.
 */
const TORCH = {
  mse: 11.0,
  mae: 3.1666666666666665,
  huberDelta05: 1.4583333333333333,
  huberSum: 16.0,
  ce: {
    mean: 4.149361471706626,
    weightMean: 4.077882662695507,
    smoothSum: 20.286807358533128,
    weightSmoothMean: 3.982808321374397,
    weightSmoothNone: [3.0305097838032715, 1.1486994608090413, 0.0, 8.738454906658854, 2.2369483579184437, 5.755131178025973],
    weightSmoothMeanGrad: [
      -0.08739307142907864, -0.0021397730648203485, 0.004718834304797477, 0.08545101596298812, -0.0006370057738866186,
      -0.0009313145812118563, 0.0033833330735413905, 0.045529375401500614, -0.0055304252642195875, -0.042450968629610564,
      0, 0, 0, 0, 0,
      0.13693430518870495, -0.0033292270874047602, -0.34692725105232036, 0.02050902678039753, 0.1928131461706226,
      0.001059827671504152, -0.1533325765487603, 0.15424205885262202, -0.0051543470709025105, 0.003185037095536661,
      0.025812002630474715, 0.20099120422219108, -0.006910564622003222, -0.2576221222468433, 0.03772948001618073,
    ],
  },
  bce: {
    mean: 2.077123163887872,
    sum: 12.462738983327233,
    grad: [0.0006783562859826879, -0.1477021216613558, -0.03146172239984545, 0.16178129487477394, -0.16499345393559545,
      -0.07339975649815687],
  },
};
