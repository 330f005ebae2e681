/**
 * Learning-rate schedules against PyTorch's formulas (torch/optim/lr_scheduler.py): each sequence is
 * checked against the closed form written out here and against PyTorch's recursive (chainable)
 * `get_lr()`, which is what its `step()` runs. ReduceLROnPlateau's patience, cooldown, thresholds
 * and minLr against sequences worked out by hand. No addon needed: schedules only set `lr`.
 */
import { describe, expect, it } from 'vitest';
import { Parameters } from '../../lib/parameters.js';
import { Adam, SGD, type Optimizer } from '../../lib/optim/index.js';
import {
  CosineAnnealingLR, ExponentialLR, LinearWarmup, ReduceLROnPlateau, StepLR, type LRScheduler,
} from '../../lib/schedule.js';
import { expectError } from '../helpers/errors.js';

const params = () => new Parameters(new Float32Array(3), new Float32Array(3), [{ name: 'w', shape: [3], offset: 0, size: 3 }]);
const sgd = (lr: number) => new SGD(params(), { lr });

function expectClose(actual: number, expected: number, what: string, rel = 1e-12) {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

/** The lr at steps 0..n: the value set at construction, then after each step(); checks lastLr and lastEpoch. */
function sequence(opt: Optimizer<any>, sched: LRScheduler<any>, n: number): number[] {
  const out = [opt.lr];
  expect(sched.lastLr).toBe(opt.lr);
  for (let t = 1; t <= n; t++) {
    sched.step();
    expect(sched.lastEpoch).toBe(t);
    expect(sched.lastLr).toBe(opt.lr);
    out.push(opt.lr);
  }
  return out;
}

/** PyTorch's chainable get_lr(): the next lr from the current one (t = last_epoch after the increment). */
function recursive(n: number, first: number, next: (lr: number, t: number) => number): number[] {
  const out = [first];
  for (let t = 1; t <= n; t++) out.push(next(out[t - 1]!, t));
  return out;
}

describe('StepLR', () => {
  it('is baseLr * gamma ** floor(t / stepSize)', () => {
    const opt = sgd(0.1);
    const got = sequence(opt, new StepLR(opt, { stepSize: 3, gamma: 0.5 }), 12);
    const closed = got.map((_, t) => 0.1 * 0.5 ** Math.floor(t / 3));
    const chain = recursive(12, 0.1, (lr, t) => (t % 3 !== 0 ? lr : lr * 0.5));
    got.forEach((lr, t) => { expectClose(lr, closed[t]!, `t=${t}`); expectClose(lr, chain[t]!, `chain t=${t}`); });
    expect(got.slice(0, 7)).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
  });
  it('defaults gamma to 0.1', () => {
    const opt = sgd(1);
    const s = new StepLR(opt, { stepSize: 1 });
    expect(s.options).toEqual({ stepSize: 1, gamma: 0.1 });
    s.step();
    expectClose(opt.lr, 0.1, 'after one step');
  });
});

describe('ExponentialLR', () => {
  it('is baseLr * gamma ** t', () => {
    const opt = new Adam(params(), { lr: 0.01 });
    const got = sequence(opt, new ExponentialLR(opt, { gamma: 0.9 }), 20);
    const chain = recursive(20, 0.01, (lr) => lr * 0.9);
    got.forEach((lr, t) => { expectClose(lr, 0.01 * 0.9 ** t, `t=${t}`); expectClose(lr, chain[t]!, `chain t=${t}`, 1e-13 * t + 1e-15); });
  });
});

describe('CosineAnnealingLR', () => {
  const pytorchChain = (base: number, etaMin: number, tMax: number) => (lr: number, t: number) => {
    if ((t - 1 - tMax) % (2 * tMax) === 0) return lr + (base - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2;
    return (1 + Math.cos(Math.PI * t / tMax)) / (1 + Math.cos(Math.PI * (t - 1) / tMax)) * (lr - etaMin) + etaMin;
  };

  it('is etaMin + (baseLr - etaMin) * (1 + cos(pi t / tMax)) / 2, past tMax too', () => {
    const opt = sgd(0.1);
    const got = sequence(opt, new CosineAnnealingLR(opt, { tMax: 10, etaMin: 0.001 }), 35);
    const chain = recursive(35, 0.1, pytorchChain(0.1, 0.001, 10));
    got.forEach((lr, t) => {
      expectClose(lr, 0.001 + (0.1 - 0.001) * (1 + Math.cos(Math.PI * t / 10)) / 2, `t=${t}`);
      expectClose(lr, chain[t]!, `chain t=${t}`, 1e-9);
    });
    expectClose(got[10]!, 0.001, 'at tMax');
    expectClose(got[20]!, 0.1, 'at 2 tMax (PyTorch keeps following the cosine)');
  });

  it('reaches lr 0 with the default etaMin', () => {
    const opt = sgd(0.5);
    const got = sequence(opt, new CosineAnnealingLR(opt, { tMax: 4 }), 4);
    expect(got[4]).toBeCloseTo(0, 15);
    expect(got[0]).toBe(0.5);
  });

  it('with warmupSteps is LinearLR then the cosine (PyTorch SequentialLR with milestones [W])', () => {
    for (const sf of [undefined, 0.1]) {
      const opt = sgd(0.2);
      const W = 4;
      const sched = new CosineAnnealingLR(opt, { tMax: 6, etaMin: 0.01, warmupSteps: W, ...(sf ? { warmupStartFactor: sf } : {}) });
      const got = sequence(opt, sched, 14);
      const f = sf ?? 1 / 3;
      const linearChain = recursive(W - 1, 0.2 * f, (lr, t) => lr * (1 + (1 - f) / (W * f + (t - 1) * (1 - f))));
      const cosineChain = recursive(14 - W, 0.2, pytorchChain(0.2, 0.01, 6));
      got.forEach((lr, t) => {
        const closed = t < W ? 0.2 * (f + (1 - f) * t / W) : 0.01 + (0.2 - 0.01) * (1 + Math.cos(Math.PI * (t - W) / 6)) / 2;
        expectClose(lr, closed, `sf=${sf} t=${t}`);
        expectClose(lr, t < W ? linearChain[t]! : cosineChain[t - W]!, `chain sf=${sf} t=${t}`, 1e-9);
      });
      expectClose(got[0]!, 0.2 * f, 'first warm-up step');
      expectClose(got[W]!, 0.2, 'end of warm-up');
      expectClose(got[W + 6]!, 0.01, 'end of the cosine');
    }
  });
});

describe('LinearWarmup', () => {
  it('is baseLr * (startFactor + (1 - startFactor) * min(t, W) / W)', () => {
    const opt = sgd(0.3);
    const got = sequence(opt, new LinearWarmup(opt, { warmupSteps: 5, startFactor: 0.2 }), 9);
    const chain = recursive(9, 0.3 * 0.2, (lr, t) => (t > 5 ? lr : lr * (1 + 0.8 / (5 * 0.2 + (t - 1) * 0.8))));
    got.forEach((lr, t) => {
      expectClose(lr, 0.3 * (0.2 + 0.8 * Math.min(t, 5) / 5), `t=${t}`);
      expectClose(lr, chain[t]!, `chain t=${t}`, 1e-12);
    });
    expect(got.slice(5)).toEqual([0.3, 0.3, 0.3, 0.3, 0.3]);
  });
  it('defaults startFactor to 1/3 (PyTorch LinearLR)', () => {
    const opt = sgd(0.3);
    new LinearWarmup(opt, { warmupSteps: 2 });
    expectClose(opt.lr, 0.1, 'step 0');
  });
});

describe('ReduceLROnPlateau', () => {
  it('reduces after more than `patience` bad steps, ignores bad steps in cooldown', () => {
    const opt = sgd(1);
    const p = new ReduceLROnPlateau(opt, { patience: 2, cooldown: 1, factor: 0.5, threshold: 0, thresholdMode: 'abs' });
    const metrics = [10, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8];
    const lrs: number[] = [];
    const bad: number[] = [];
    for (const m of metrics) { p.step(m); lrs.push(opt.lr); bad.push(p.numBadEpochs); expect(p.lastLr).toBe(opt.lr); }
    expect(lrs).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125]);
    expect(bad).toEqual([0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0]);
    expect(p.best).toBe(8);
    expect(p.lastEpoch).toBe(13);
    expect(p.inCooldown).toBe(true);
  });

  it('compares with the threshold in rel and abs modes, min and max', () => {
    const cases: [object, number[], number[]][] = [
      // min rel 0.1: better means < best * 0.9
      [{ mode: 'min', threshold: 0.1 }, [10, 9.5, 8.9, 8.5], [0, 1, 0, 1]],
      // min abs 1: better means < best - 1
      [{ mode: 'min', threshold: 1, thresholdMode: 'abs' }, [10, 9.5, 8.9, 7.8], [0, 1, 0, 0]],
      // max rel 0.1: better means > best * 1.1
      [{ mode: 'max', threshold: 0.1 }, [1, 1.05, 1.2, 1.3], [0, 1, 0, 1]],
      // max abs 1: better means > best + 1
      [{ mode: 'max', threshold: 1, thresholdMode: 'abs' }, [1, 1.5, 2.1, 3.2], [0, 1, 0, 0]],
    ];
    for (const [options, metrics, bad] of cases) {
      const p = new ReduceLROnPlateau(sgd(1), { ...options, patience: 10 });
      expect(metrics.map((m) => { p.step(m); return p.numBadEpochs; }), JSON.stringify(options)).toEqual(bad);
    }
  });

  it('never goes below minLr and skips reductions smaller than eps', () => {
    const opt = sgd(1);
    const p = new ReduceLROnPlateau(opt, { patience: 0, factor: 0.1, minLr: 0.05 });
    const lrs = [1, 1, 1, 1].map((m) => { p.step(m); return opt.lr; });
    expect(lrs[0]).toBe(1);
    expectClose(lrs[1]!, 0.1, 'first reduction');
    expect(lrs.slice(2)).toEqual([0.05, 0.05]);
    const opt2 = sgd(1e-8);
    const p2 = new ReduceLROnPlateau(opt2, { patience: 0 });
    p2.step(1); p2.step(1);
    expect(opt2.lr).toBe(1e-8); // 1e-8 - 1e-9 is not > eps 1e-8
  });

  it('counts a NaN metric as no improvement', () => {
    const p = new ReduceLROnPlateau(sgd(1));
    p.step(1); p.step(NaN);
    expect(p.numBadEpochs).toBe(1);
    expect(p.best).toBe(1);
  });

  it('has PyTorch defaults', () => {
    expect(new ReduceLROnPlateau(sgd(1)).options).toEqual({
      mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8,
    });
  });
});

describe('schedule state', () => {
  const makers: [string, (o: Optimizer<any>) => LRScheduler<any>][] = [
    ['StepLR', (o) => new StepLR(o, { stepSize: 2, gamma: 0.5 })],
    ['ExponentialLR', (o) => new ExponentialLR(o, { gamma: 0.8 })],
    ['CosineAnnealingLR', (o) => new CosineAnnealingLR(o, { tMax: 5, warmupSteps: 2, etaMin: 0.001 })],
    ['LinearWarmup', (o) => new LinearWarmup(o, { warmupSteps: 4 })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: state() survives JSON and continues identically`, () => {
      const optA = sgd(0.1);
      const a = make(optA);
      for (let i = 0; i < 3; i++) a.step();
      const saved = JSON.parse(JSON.stringify({ opt: optA.state(), sched: a.state() }));
      expect(saved.sched.type).toBe(name);
      const optB = sgd(0.5);
      const b = make(optB);
      optB.loadState({ ...saved.opt, buffers: {} });
      b.loadState(saved.sched);
      expect(b.state()).toEqual(a.state());
      for (let i = 0; i < 6; i++) { a.step(); b.step(); expect(optB.lr).toBe(optA.lr); }
    });
  }

  it('ReduceLROnPlateau: state() survives JSON and continues identically', () => {
    const optA = sgd(1);
    const a = new ReduceLROnPlateau(optA, { patience: 1, cooldown: 2 });
    expect(JSON.parse(JSON.stringify(a.state())).best).toBeNull();
    for (const m of [3, 2, 2, 2]) a.step(m);
    const saved = JSON.parse(JSON.stringify({ opt: optA.state(), sched: a.state() }));
    const optB = sgd(1);
    const b = new ReduceLROnPlateau(optB);
    optB.loadState({ ...saved.opt, buffers: {} });
    b.loadState(saved.sched);
    expect(b.state()).toEqual(a.state());
    for (const m of [2, 2, 1, 1, 1, 1]) { a.step(m); b.step(m); expect(optB.lr).toBe(optA.lr); }
  });

  it('loadState rejects another schedule\'s state and changes nothing', () => {
    const opt = sgd(0.1);
    const s = new StepLR(opt, { stepSize: 2 });
    const before = s.state();
    expectError(() => s.loadState(new ExponentialLR(sgd(1), { gamma: 0.5 }).state()), RangeError,
      /^StepLR\.loadState: state\.type must be "StepLR", got the string "ExponentialLR"$/, 'ERR_LSTM_STATE');
    expectError(() => s.loadState({ ...before, lastEpoch: 1.5 }), RangeError,
      /^StepLR\.loadState: state\.lastEpoch must be an integer >= 0, got the number 1\.5$/);
    expectError(() => s.loadState({ ...before, options: { stepSize: 0 } }), RangeError,
      /^StepLR\.loadState: stepSize must be an integer >= 1, got the number 0$/);
    expectError(() => new ReduceLROnPlateau(opt).loadState({ ...new ReduceLROnPlateau(opt).state(), best: 'x' as never }), TypeError,
      /^ReduceLROnPlateau\.loadState: state\.best must be a finite number or null, got the string "x"$/);
    expect(s.state()).toEqual(before);
  });
});

describe('schedule arguments', () => {
  it('rejects a non-optimizer, unknown options and invalid values', () => {
    expectError(() => new StepLR({ lr: 1 } as never, { stepSize: 1 }), TypeError,
      /^new StepLR: optimizer must be an Optimizer \(SGD, Adam, AdamW, RMSprop, Adagrad\), got an object$/);
    const opt = sgd(0.1);
    expectError(() => new StepLR(opt, { step_size: 3 } as never), RangeError,
      /^new StepLR: unknown option "step_size" \(did you mean "stepSize"\?\); known options: stepSize, gamma$/);
    expectError(() => new StepLR(opt, { stepSize: 0 }), RangeError, /^new StepLR: stepSize must be an integer >= 1, got the number 0$/);
    expectError(() => new StepLR(opt, { stepSize: 2, gamma: 0 }), RangeError, /^new StepLR: gamma must be a finite number > 0, got the number 0$/);
    expectError(() => new ExponentialLR(opt, {} as never), TypeError, /^new ExponentialLR: gamma must be a finite number > 0, got undefined$/);
    expectError(() => new CosineAnnealingLR(opt, { tMax: 10, etaMin: -1 }), RangeError,
      /^new CosineAnnealingLR: etaMin must be a finite number >= 0, got the number -1$/);
    expectError(() => new CosineAnnealingLR(opt, { tMax: 10, warmupSteps: -1 }), RangeError,
      /^new CosineAnnealingLR: warmupSteps must be an integer >= 0, got the number -1$/);
    expectError(() => new CosineAnnealingLR(opt, { tMax: 10, warmupStartFactor: 0 }), RangeError,
      /^new CosineAnnealingLR: warmupStartFactor must be a finite number in \(0, 1\], got the number 0$/);
    expectError(() => new LinearWarmup(opt, { warmupSteps: 3, startFactor: 1.5 }), RangeError,
      /^new LinearWarmup: startFactor must be a finite number in \(0, 1\], got the number 1\.5$/);
    expectError(() => new ReduceLROnPlateau(opt, { mode: 'mn' as never }), RangeError,
      /^new ReduceLROnPlateau: mode must be "min" or "max", got the string "mn"$/);
    expectError(() => new ReduceLROnPlateau(opt, { factor: 1 }), RangeError,
      /^new ReduceLROnPlateau: factor must be a finite number in \(0, 1\), got the number 1$/);
    expectError(() => new ReduceLROnPlateau(opt, { thresholdMode: 'relative' as never }), RangeError,
      /^new ReduceLROnPlateau: thresholdMode must be "rel" or "abs", got the string "relative"$/);
    expectError(() => new ReduceLROnPlateau(opt, { patience: -1 }), RangeError,
      /^new ReduceLROnPlateau: patience must be an integer >= 0, got the number -1$/);
    expectError(() => new ReduceLROnPlateau(opt).step('0.5' as never), TypeError,
      /^ReduceLROnPlateau\.step: metric must be a number, got the string "0\.5"$/);
    expect(opt.lr).toBe(0.1); // nothing above touched the optimizer
  });
});
