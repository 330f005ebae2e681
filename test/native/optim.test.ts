/**
 * The native optimizers against plain float64 references of PyTorch's algorithms kept in this file
 * (torch/optim/*.py, `_single_tensor_*`), over several steps and every combination of options;
 * state()/loadState() continuing bit-exactly; argument errors asserted in full; gradient clipping
 * (torch.nn.utils.clip_grad_norm_ / clip_grad_value_) including zero and non-finite gradients.
 */
import { describe, expect, it } from 'vitest';
import { backendInfo, setNumThreads } from '../../lib/index.js';
import type { NativeAdamStep, NativeRmspropStep, NativeSgdStep } from '../../lib/binding.js';
import { testingNative } from '../helpers/testing-addon.js';
import { Parameters } from '../../lib/parameters.js';
import {
  Adagrad, Adam, AdamW, clipGradNorm, clipGradValue, RMSprop, SGD, type Optimizer, type OptimizerState,
} from '../../lib/optim/index.js';
import { compare, randomArray, rng } from '../helpers/compare.js';
import { expectError } from '../helpers/errors.js';

const RTOL = 1e-5;
const ATOL = 1e-6;
const STEPS = 6;

function makeParams(n: number, seed: number): Parameters {
  const next = rng(seed);
  const values = randomArray(Float32Array, n, next);
  const grads = new Float32Array(n);
  return new Parameters(values, grads, [{ name: 'w', shape: [n], offset: 0, size: n }]);
}

function gradSequence(n: number, steps: number, seed: number): Float32Array[] {
  const next = rng(seed);
  return Array.from({ length: steps }, () => randomArray(Float32Array, n, next));
}

// ---- float64 references of PyTorch's algorithms --------------------------------------------------
// Each returns a step function over (p, g, t) with t the 1-based step, and exposes its state.

interface Ref { step(p: Float64Array, g: Float64Array, t: number): void; state: Record<string, Float64Array>; lr: number }

function sgdRef(n: number, o: { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }): Ref {
  const momentum = o.momentum ?? 0, dampening = o.dampening ?? 0, nesterov = o.nesterov ?? false, wd = o.weightDecay ?? 0;
  const state: Record<string, Float64Array> = momentum !== 0 ? { momentum_buffer: new Float64Array(n) } : {};
  const ref: Ref = {
    lr: o.lr, state,
    step(p, g, t) {
      const buf = state.momentum_buffer;
      for (let i = 0; i < n; i++) {
        let d = g[i]! + wd * p[i]!;
        if (momentum !== 0) {
          buf![i] = t === 1 ? d : momentum * buf![i]! + (1 - dampening) * d;
          d = nesterov ? d + momentum * buf![i]! : buf![i]!;
        }
        p[i] = p[i]! - ref.lr * d;
      }
    },
  };
  return ref;
}

function adamRef(n: number, o: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean },
  decoupled: boolean): Ref {
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8, wd = o.weightDecay ?? (decoupled ? 1e-2 : 0), amsgrad = o.amsgrad ?? false;
  const state: Record<string, Float64Array> = { exp_avg: new Float64Array(n), exp_avg_sq: new Float64Array(n) };
  if (amsgrad) state.max_exp_avg_sq = new Float64Array(n);
  const ref: Ref = {
    lr: o.lr ?? 1e-3, state,
    step(p, g, t) {
      const { exp_avg: m, exp_avg_sq: v, max_exp_avg_sq: vmax } = state;
      const lr = ref.lr;
      for (let i = 0; i < n; i++) {
        let d = g[i]!;
        if (wd !== 0) {
          if (decoupled) p[i] = p[i]! * (1 - lr * wd);
          else d = d + wd * p[i]!;
        }
        m![i] = m![i]! + (1 - b1) * (d - m![i]!);
        v![i] = b2 * v![i]! + (1 - b2) * d * d;
        let vv = v![i]!;
        if (amsgrad) { vmax![i] = Math.max(vmax![i]!, vv); vv = vmax![i]!; }
        const denom = Math.sqrt(vv) / Math.sqrt(1 - b2 ** t) + eps;
        p[i] = p[i]! - (lr / (1 - b1 ** t)) * m![i]! / denom;
      }
    },
  };
  return ref;
}

function rmspropRef(n: number, o: { lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean }): Ref {
  const alpha = o.alpha ?? 0.99, eps = o.eps ?? 1e-8, wd = o.weightDecay ?? 0, momentum = o.momentum ?? 0;
  const centered = o.centered ?? false;
  const state: Record<string, Float64Array> = { square_avg: new Float64Array(n) };
  if (momentum > 0) state.momentum_buffer = new Float64Array(n);
  if (centered) state.grad_avg = new Float64Array(n);
  const ref: Ref = {
    lr: o.lr ?? 1e-2, state,
    step(p, g) {
      const { square_avg: s, grad_avg: a, momentum_buffer: buf } = state;
      for (let i = 0; i < n; i++) {
        const d = g[i]! + wd * p[i]!;
        s![i] = alpha * s![i]! + (1 - alpha) * d * d;
        let avg: number;
        if (centered) {
          a![i] = a![i]! + (1 - alpha) * (d - a![i]!);
          avg = Math.sqrt(s![i]! - a![i]! * a![i]!) + eps;
        } else {
          avg = Math.sqrt(s![i]!) + eps;
        }
        if (momentum > 0) {
          buf![i] = momentum * buf![i]! + d / avg;
          p[i] = p[i]! - ref.lr * buf![i]!;
        } else {
          p[i] = p[i]! - ref.lr * d / avg;
        }
      }
    },
  };
  return ref;
}

function adagradRef(n: number, o: { lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number }): Ref {
  const lrDecay = o.lrDecay ?? 0, wd = o.weightDecay ?? 0, eps = o.eps ?? 1e-10;
  // The buffer starts at the float32 value of initialAccumulatorValue, as torch.full_like(p, v) does.
  const state: Record<string, Float64Array> = { sum: new Float64Array(n).fill(Math.fround(o.initialAccumulatorValue ?? 0)) };
  const ref: Ref = {
    lr: o.lr ?? 1e-2, state,
    step(p, g, t) {
      const sum = state.sum!;
      const clr = ref.lr / (1 + (t - 1) * lrDecay);
      for (let i = 0; i < n; i++) {
        const d = g[i]! + wd * p[i]!;
        sum[i] = sum[i]! + d * d;
        p[i] = p[i]! - clr * d / (Math.sqrt(sum[i]!) + eps);
      }
    },
  };
  return ref;
}

// ---- option grids ---------------------------------------------------------------------------------

interface Case { name: string; make: (p: Parameters) => Optimizer<any>; ref: (n: number) => Ref }

function cases(): Case[] {
  const out: Case[] = [];
  for (const momentum of [0, 0.9]) {
    for (const dampening of momentum ? [0, 0.3] : [0]) {
      for (const nesterov of momentum && !dampening ? [false, true] : [false]) {
        for (const weightDecay of [0, 0.05]) {
          const o = { lr: 0.1, momentum, dampening, nesterov, weightDecay };
          out.push({ name: `SGD ${JSON.stringify(o)}`, make: (p) => new SGD(p, o), ref: (n) => sgdRef(n, o) });
        }
      }
    }
  }
  for (const decoupled of [false, true]) {
    for (const amsgrad of [false, true]) {
      for (const weightDecay of [undefined, 0, 0.1]) {
        for (const betas of [undefined, [0.3, 0.9] as [number, number]]) {
          const o = { lr: 0.01, amsgrad, ...(weightDecay === undefined ? {} : { weightDecay }), ...(betas ? { betas } : {}) };
          const Ctor = decoupled ? AdamW : Adam;
          out.push({ name: `${Ctor.name} ${JSON.stringify(o)}`, make: (p) => new Ctor(p, o), ref: (n) => adamRef(n, o, decoupled) });
        }
      }
    }
  }
  out.push({ name: 'Adam defaults', make: (p) => new Adam(p), ref: (n) => adamRef(n, {}, false) });
  out.push({ name: 'Adam eps 1e-3', make: (p) => new Adam(p, { eps: 1e-3 }), ref: (n) => adamRef(n, { eps: 1e-3 }, false) });
  for (const centered of [false, true]) {
    for (const momentum of [0, 0.5]) {
      for (const weightDecay of [0, 0.1]) {
        for (const alpha of [0.99, 0.3]) {
          const o = { lr: 0.01, centered, momentum, weightDecay, alpha };
          out.push({ name: `RMSprop ${JSON.stringify(o)}`, make: (p) => new RMSprop(p, o), ref: (n) => rmspropRef(n, o) });
        }
      }
    }
  }
  for (const lrDecay of [0, 0.1]) {
    for (const weightDecay of [0, 0.1]) {
      for (const initialAccumulatorValue of [0, 0.1]) {
        const o = { lr: 0.05, lrDecay, weightDecay, initialAccumulatorValue };
        out.push({ name: `Adagrad ${JSON.stringify(o)}`, make: (p) => new Adagrad(p, o), ref: (n) => adagradRef(n, o) });
      }
    }
  }
  out.push({ name: 'Adagrad defaults', make: (p) => new Adagrad(p), ref: (n) => adagradRef(n, {}) });
  return out;
}

/** Runs an optimizer and its reference over the same float32 start and gradients; returns the worst ratio. */
function runAgainstReference(c: Case, n: number, seed: number): number {
  const params = makeParams(n, seed);
  const opt = c.make(params);
  const ref = c.ref(n);
  const p64 = Float64Array.from(params.values);
  const grads = gradSequence(n, STEPS, seed + 1);
  let worst = 0;
  for (let t = 1; t <= STEPS; t++) {
    params.grads.set(grads[t - 1]!);
    if (t === 4) { opt.lr = opt.lr * 0.5; ref.lr = opt.lr; } // lr changes take effect at the next step
    opt.step();
    ref.step(p64, Float64Array.from(grads[t - 1]!), t);
    const d = compare(params.values, p64, RTOL, ATOL);
    worst = Math.max(worst, d.worstRatio);
    expect(d.worstRatio, `${c.name}: values after step ${t}, worst at ${d.at}`).toBeLessThanOrEqual(1);
  }
  const state = opt.state();
  expect(Object.keys(state.buffers)).toEqual(Object.keys(ref.state));
  for (const [name, buf] of Object.entries(ref.state)) {
    const d = compare(state.buffers[name]!, buf, RTOL, ATOL);
    expect(d.worstRatio, `${c.name}: buffer ${name}, worst at ${d.at}`).toBeLessThanOrEqual(1);
  }
  expect(params.grads).toEqual(grads[STEPS - 1]); // step() never writes the gradients
  return worst;
}

describe('optimizers against float64 references of PyTorch', () => {
  const all = cases();
  it('covers every option combination', () => {
    expect(all.length).toBeGreaterThanOrEqual(50);
  });
  for (const c of all) {
    it(`${c.name} matches over ${STEPS} steps`, () => {
      runAgainstReference(c, 37, 11);
    });
  }

  it('matches on buffers large enough to be split over threads, whatever the thread count', () => {
    const n = 150_001;
    const big = [all.find((c) => c.name.startsWith('SGD') && c.name.includes('"nesterov":true'))!,
      all.find((c) => c.name.startsWith('AdamW') && c.name.includes('"amsgrad":true'))!,
      all.find((c) => c.name.startsWith('RMSprop') && c.name.includes('"centered":true,"momentum":0.5'))!,
      all.find((c) => c.name.startsWith('Adagrad') && c.name.includes('"lrDecay":0.1'))!];
    const threads = backendInfo().threads;
    try {
      for (const c of big) {
        runAgainstReference(c, n, 5);
        const results = [1, 2].map((k) => {
          setNumThreads(k);
          const params = makeParams(n, 9);
          const opt = c.make(params);
          for (const g of gradSequence(n, 3, 10)) { params.grads.set(g); opt.step(); }
          return params.values;
        });
        expect(Buffer.from(results[0]!.buffer).equals(Buffer.from(results[1]!.buffer)), c.name).toBe(true);
      }
    } finally {
      setNumThreads(threads);
    }
  });
});

describe('optimizer state', () => {
  const richCases: [string, (p: Parameters) => Optimizer<any>][] = [
    ['SGD', (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
    ['Adam', (p) => new Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 0.1 })],
    ['AdamW', (p) => new AdamW(p, { lr: 0.01, amsgrad: true })],
    ['RMSprop', (p) => new RMSprop(p, { centered: true, momentum: 0.5 })],
    ['Adagrad', (p) => new Adagrad(p, { lrDecay: 0.1, initialAccumulatorValue: 0.1 })],
  ];
  for (const [name, make] of richCases) {
    it(`${name}: state()/loadState() continues bit-exactly`, () => {
      const n = 23;
      const grads = gradSequence(n, 6, 3);
      const a = makeParams(n, 2);
      const optA = make(a);
      for (const g of grads.slice(0, 3)) { a.grads.set(g); optA.step(); }
      optA.lr = optA.lr * 0.7; // a scheduled lr is part of the state
      const saved = optA.state();
      expect(saved.type).toBe(name);
      expect(saved.step).toBe(3);
      const b = new Parameters(a.values.slice(), new Float32Array(n), a.slots);
      const optB = make(b);
      optB.lr = 0.123;
      optB.loadState(saved);
      expect(optB.lr).toBe(optA.lr);
      expect(optB.stepCount).toBe(3);
      expect(optB.state()).toEqual(optA.state());
      for (const g of grads.slice(3)) {
        a.grads.set(g); optA.step();
        b.grads.set(g); optB.step();
      }
      expect(Buffer.from(b.values.buffer).equals(Buffer.from(a.values.buffer))).toBe(true);
      const sa = optA.state(), sb = optB.state();
      for (const k of Object.keys(sa.buffers)) {
        expect(Buffer.from(sb.buffers[k]!.buffer).equals(Buffer.from(sa.buffers[k]!.buffer)), k).toBe(true);
      }
    });
  }

  it('state() returns copies and plain options', () => {
    const p = makeParams(4, 1);
    const opt = new Adam(p, { betas: [0.8, 0.99] });
    p.grads.fill(1);
    opt.step();
    const s = opt.state();
    expect(s.options).toEqual({ lr: 1e-3, betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0, amsgrad: false });
    s.buffers.exp_avg!.fill(99);
    (s.options.betas as number[])[0] = 0;
    expect(opt.state().buffers.exp_avg![0]).not.toBe(99);
    expect(opt.options.betas).toEqual([0.8, 0.99]);
    expect(new AdamW(p).options.weightDecay).toBe(1e-2);
  });

  it('loadState rejects a mismatched state and changes nothing', () => {
    const p = makeParams(10, 1);
    const opt = new Adam(p, { amsgrad: true });
    p.grads.fill(0.5);
    opt.step();
    const good = opt.state();
    const before = opt.state();
    const bad = (patch: Partial<OptimizerState>) => ({ ...good, ...patch }) as OptimizerState;
    expectError(() => opt.loadState(bad({ type: 'SGD' })), RangeError,
      /^Adam\.loadState: state\.type must be "Adam", got the string "SGD"$/, 'ERR_LSTM_STATE');
    expectError(() => opt.loadState(bad({ buffers: { exp_avg: good.buffers.exp_avg!, exp_avg_sq: good.buffers.exp_avg_sq! } })),
      RangeError, /^Adam\.loadState: state\.buffers must be exactly \[exp_avg, exp_avg_sq, max_exp_avg_sq\] for these options: missing max_exp_avg_sq$/,
      'ERR_LSTM_STATE');
    expectError(() => opt.loadState(bad({ buffers: { ...good.buffers, momentum_buffer: new Float32Array(10) } })), RangeError,
      /^Adam\.loadState: state\.buffers must be exactly \[exp_avg, exp_avg_sq, max_exp_avg_sq\] for these options: unexpected momentum_buffer$/);
    expectError(() => opt.loadState(bad({ buffers: { ...good.buffers, exp_avg: new Float32Array(9) } })), RangeError,
      /^Adam\.loadState: state\.buffers\.exp_avg must have 10 elements \(the parameters' size\), got 9$/, 'ERR_LSTM_STATE');
    expectError(() => opt.loadState(bad({ buffers: { ...good.buffers, exp_avg_sq: new Float64Array(10) as never } })), TypeError,
      /^Adam\.loadState: state\.buffers\.exp_avg_sq must be a Float32Array, got a Float64Array of 10 elements$/);
    expectError(() => opt.loadState(bad({ step: -1 })), RangeError,
      /^Adam\.loadState: state\.step must be an integer >= 0, got the number -1$/);
    expectError(() => opt.loadState(bad({ options: { ...good.options, betas: [0.9, 1.5] } })), RangeError,
      /^Adam\.loadState: betas\[1\] must be a finite number in \[0, 1\), got the number 1\.5$/);
    expectError(() => opt.loadState(bad({ options: { ...good.options, amsgrad: false } })), RangeError,
      /^Adam\.loadState: state\.buffers must be exactly \[exp_avg, exp_avg_sq\] for these options: unexpected max_exp_avg_sq$/);
    expectError(() => opt.loadState(null as never), TypeError,
      /^Adam\.loadState: state must be an object \{ type, options, step, buffers \}, got null$/);
    expect(opt.state()).toEqual(before);
  });

  it('loadState accepts lr 0 (where a schedule can take it) and switching buffers on', () => {
    const p = makeParams(5, 1);
    const opt = new SGD(p, { lr: 0.1 });
    const s = opt.state();
    expect(s.buffers).toEqual({});
    opt.loadState({ ...s, options: { ...s.options, lr: 0, momentum: 0.9 }, buffers: { momentum_buffer: new Float32Array(5).fill(1) } });
    expect(opt.lr).toBe(0);
    expect(opt.options.momentum).toBe(0.9);
    expect(opt.state().buffers.momentum_buffer).toEqual(new Float32Array(5).fill(1));
  });

  it('zeroGrad() zeroes the gradients', () => {
    const p = makeParams(5, 1);
    p.grads.fill(3);
    new SGD(p, { lr: 1 }).zeroGrad();
    expect(p.grads).toEqual(new Float32Array(5));
  });
});

describe('optimizer arguments', () => {
  const p = makeParams(10, 1);
  it('rejects unknown options with a suggestion', () => {
    expectError(() => new Adam(p, { weightdecay: 0.1 } as never), RangeError,
      /^new Adam: unknown option "weightdecay" \(did you mean "weightDecay"\?\); known options: lr, betas, eps, weightDecay, amsgrad$/,
      'ERR_LSTM_ARG_RANGE');
    expectError(() => new SGD(p, { lr: 0.1, nestrov: true } as never), RangeError,
      /^new SGD: unknown option "nestrov" \(did you mean "nesterov"\?\); known options: lr, momentum, dampening, nesterov, weightDecay$/);
    expectError(() => new Adagrad(p, { lr_decay: 0.1 } as never), RangeError,
      /^new Adagrad: unknown option "lr_decay" \(did you mean "lrDecay"\?\); known options: lr, lrDecay, weightDecay, initialAccumulatorValue, eps$/);
    expectError(() => new RMSprop(p, 0.1 as never), TypeError, /^new RMSprop: options must be an object, got the number 0\.1$/);
  });
  it('rejects invalid values, never clamps', () => {
    expectError(() => new SGD(p, {} as never), TypeError, /^new SGD: lr must be a finite number > 0, got undefined$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => new Adam(p, { lr: 0 }), RangeError, /^new Adam: lr must be a finite number > 0, got the number 0$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => new Adam(p, { lr: Infinity }), RangeError, /^new Adam: lr must be a finite number > 0, got the number Infinity$/);
    expectError(() => new Adam(p, { betas: [0.9, 1] }), RangeError, /^new Adam: betas\[1\] must be a finite number in \[0, 1\), got the number 1$/);
    expectError(() => new AdamW(p, { betas: [-0.1, 0.9] }), RangeError, /^new AdamW: betas\[0\] must be a finite number in \[0, 1\), got the number -0\.1$/);
    expectError(() => new Adam(p, { betas: 0.9 as never }), TypeError,
      /^new Adam: betas must be an array of two numbers \[beta1, beta2\], got the number 0\.9$/);
    expectError(() => new Adam(p, { eps: -1e-8 }), RangeError, /^new Adam: eps must be a finite number >= 0, got the number -1e-8$/);
    expectError(() => new Adam(p, { amsgrad: 1 as never }), TypeError, /^new Adam: amsgrad must be a boolean, got the number 1$/);
    expectError(() => new SGD(p, { lr: 0.1, momentum: -0.5 }), RangeError, /^new SGD: momentum must be a finite number >= 0, got the number -0\.5$/);
    expectError(() => new SGD(p, { lr: 0.1, dampening: 2 }), RangeError, /^new SGD: dampening must be a finite number in \[0, 1\], got the number 2$/);
    expectError(() => new SGD(p, { lr: 0.1, nesterov: true }), RangeError,
      /^new SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0$/);
    expectError(() => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError,
      /^new SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0\.9 and dampening 0\.1$/);
    expectError(() => new SGD(p, { lr: 0.1, weightDecay: -1 }), RangeError, /^new SGD: weightDecay must be a finite number >= 0, got the number -1$/);
    expectError(() => new RMSprop(p, { alpha: 1.5 }), RangeError, /^new RMSprop: alpha must be a finite number in \[0, 1\], got the number 1\.5$/);
    expectError(() => new RMSprop(p, { centered: 'yes' as never }), TypeError, /^new RMSprop: centered must be a boolean, got the string "yes"$/);
    expectError(() => new Adagrad(p, { lrDecay: -0.1 }), RangeError, /^new Adagrad: lrDecay must be a finite number >= 0, got the number -0\.1$/);
    expectError(() => new Adagrad(p, { initialAccumulatorValue: NaN }), RangeError,
      /^new Adagrad: initialAccumulatorValue must be a finite number >= 0, got the number NaN$/);
  });
  it('rejects params that are not a Parameters', () => {
    expectError(() => new Adam({} as never), TypeError,
      /^new Adam: params must be a Parameters \(what model\.parameters\(\) returns\), got an object$/);
    expectError(() => new SGD(new Parameters(new Float32Array(3), new Float32Array(2), []), { lr: 1 }), RangeError,
      /^new SGD: params\.grads must have 3 elements like params\.values, got 2$/);
    expectError(() => new SGD(new Parameters(new Float32Array(0), new Float32Array(0), []), { lr: 1 }), RangeError,
      /^new SGD: params must hold at least one parameter, got 0$/);
  });
  it('lr setter checks its value', () => {
    const opt = new Adam(p);
    expectError(() => { opt.lr = -1; }, RangeError, /^Adam\.lr: lr must be a finite number >= 0, got the number -1$/);
    expectError(() => { opt.lr = NaN; }, RangeError, /^Adam\.lr: lr must be a finite number >= 0, got the number NaN$/);
    opt.lr = 0;
    expect(opt.lr).toBe(0);
  });
});

describe('native optimizer entry points check their arguments', () => {
  const native = testingNative();
  const f = (n: number) => new Float32Array(n);
  const adam = (o: Partial<NativeAdamStep>): NativeAdamStep => ({ param: f(3), grad: f(3), expAvg: f(3), expAvgSq: f(3),
    maxExpAvgSq: null, step: 1, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, ...o });
  const sgd = (o: Partial<NativeSgdStep>): NativeSgdStep => ({ param: f(3), grad: f(3), momentumBuffer: null, lr: 0.1,
    momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: true, ...o });
  const rmsprop = (o: Partial<NativeRmspropStep>): NativeRmspropStep => ({ param: f(3), grad: f(3), squareAvg: f(3),
    gradAvg: null, momentumBuffer: null, lr: 0.1, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, ...o });
  it('names the array, the expected and the received', () => {
    expectError(() => native.adamStep(adam({ grad: f(2) })), RangeError,
      /^adamStep: grad must have 3 elements \(param\.length\), got 2$/, 'ERR_LSTM_ARG_RANGE');
    expectError(() => native.adamStep(adam({ maxExpAvgSq: f(4) })), RangeError,
      /^adamStep: maxExpAvgSq must have 3 elements \(param\.length\), got 4$/);
    expectError(() => native.sgdStep(sgd({ param: new Float64Array(3) as never })), TypeError,
      /^sgdStep: param must be a Float32Array, got a Float64Array of 3 elements$/, 'ERR_LSTM_ARG_TYPE');
    expectError(() => native.sgdStep(sgd({ momentum: 0.9 })), TypeError,
      /^sgdStep: momentumBuffer must be a Float32Array, got null$/);
    expectError(() => native.rmspropStep(rmsprop({ momentum: 0.5 })), TypeError,
      /^rmspropStep: momentumBuffer must be a Float32Array, got null$/);
    expectError(() => native.adagradStep({ param: f(3), grad: f(3), stateSum: f(3), step: 0, lr: 0.1, lrDecay: 0, weightDecay: 0, eps: 1e-10 }), RangeError,
      /^adagradStep: step must be an integer >= 1, got the number 0$/);
    expectError(() => native.adamStep(adam({ lr: NaN })), RangeError,
      /^adamStep: lr must be a finite number, got the number NaN$/);
    expectError(() => native.rmspropStep(rmsprop({ eps: -Infinity })), RangeError,
      /^rmspropStep: eps must be a finite number, got the number -Infinity$/);
    expectError(() => native.sgdStep(sgd({ nesterov: 'no' as never })), TypeError,
      /^sgdStep: nesterov must be a boolean, got a string$/);
    expectError(() => native.clampInPlace({ x: f(3), lo: 1, hi: -1 }), RangeError, /^clampInPlace: lo must be <= hi, got lo 1 and hi -1$/);
    expectError(() => native.sumSquares({ x: [1, 2] as never }), TypeError, /^sumSquares: x must be a Float32Array, got an Array$/);
    expectError(() => (native.sgdStep as (...a: unknown[]) => void)(f(3), f(3)), TypeError,
      /^sgdStep: expected one call object, got a Float32Array of 3 elements$/);
  });
});

describe('clipGradNorm / clipGradValue', () => {
  /** The float64 norm of float32 gradients, and torch's scaling by float32(maxNorm / (norm + 1e-6)). */
  function expectedClip(g: Float32Array, maxNorm: number, normType: number): { norm: number; out: Float32Array } {
    let norm = 0;
    if (normType === 2) { for (const v of g) norm += v * v; norm = Math.sqrt(norm); }
    else for (const v of g) norm = Math.max(norm, Math.abs(v));
    const coef = maxNorm / (norm + 1e-6);
    const out = g.slice();
    if (coef < 1) { const c = Math.fround(coef); for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]! * c); }
    return { norm, out };
  }

  for (const normType of [2, Infinity]) {
    it(`scales to maxNorm when the ${normType}-norm is larger, exactly as torch`, () => {
      const p = makeParams(1001, 4);
      p.grads.set(gradSequence(1001, 1, 5)[0]!);
      const before = p.grads.slice();
      const maxNorm = normType === 2 ? 2 : 0.25;
      const { norm, out } = expectedClip(before, maxNorm, normType);
      const got = clipGradNorm(p, maxNorm, normType);
      expect(Math.abs(got - norm) / norm).toBeLessThan(1e-12);
      expect(p.grads).toEqual(out);
    });
  }

  it('leaves gradients below the limit untouched', () => {
    const p = makeParams(10, 1);
    p.grads.set(gradSequence(10, 1, 2)[0]!);
    const before = p.grads.slice();
    const norm = clipGradNorm(p, 100);
    expect(norm).toBeCloseTo(Math.hypot(...before), 10);
    expect(p.grads).toEqual(before);
  });

  it('returns 0 for a zero gradient and leaves it zero (no NaN)', () => {
    const p = makeParams(10, 1);
    expect(clipGradNorm(p, 1)).toBe(0);
    expect(clipGradNorm(p, 1, Infinity)).toBe(0);
    expect(p.grads).toEqual(new Float32Array(10));
    expect(clipGradNorm(new Parameters(new Float32Array(0), new Float32Array(0), []), 1)).toBe(0);
  });

  it('propagates a non-finite norm as torch does (error_if_nonfinite=False)', () => {
    const p = makeParams(4, 1);
    p.grads.set([1, NaN, 2, 3]);
    expect(clipGradNorm(p, 1)).toBeNaN();
    expect(Array.from(p.grads).every(Number.isNaN)).toBe(true);
    p.grads.set([1, Infinity, -2, 3]);
    expect(clipGradNorm(p, 1, Infinity)).toBe(Infinity);
    expect(Array.from(p.grads)).toEqual([0, NaN, -0, 0]);
  });

  it('clipGradValue clamps to [-clipValue, clipValue], NaN stays NaN', () => {
    const p = makeParams(6, 1);
    p.grads.set([-3, -0.5, 0, 0.25, 7, NaN]);
    clipGradValue(p, 0.5);
    expect(Array.from(p.grads)).toEqual([-0.5, -0.5, 0, 0.25, 0.5, NaN]);
  });

  it('rejects invalid arguments', () => {
    const p = makeParams(3, 1);
    expectError(() => clipGradNorm(p, 0), RangeError, /^clipGradNorm: maxNorm must be a finite number > 0, got the number 0$/);
    expectError(() => clipGradNorm(p, 1, 1), RangeError, /^clipGradNorm: normType must be 2 or Infinity, got the number 1$/);
    expectError(() => clipGradNorm(p, 1, 'inf' as never), TypeError, /^clipGradNorm: normType must be 2 or Infinity, got the string "inf"$/);
    expectError(() => clipGradNorm(p.grads as never, 1), TypeError,
      /^clipGradNorm: params must be a Parameters \(what model\.parameters\(\) returns\), got a Float32Array of 3 elements$/);
    expectError(() => clipGradValue(p, -1), RangeError, /^clipGradValue: clipValue must be a finite number > 0, got the number -1$/);
  });
});
