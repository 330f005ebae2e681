/**
 * Learning-rate schedules: each drives one optimizer's `lr`, with PyTorch's formulas
 * (torch.optim.lr_scheduler), in closed form where PyTorch has one. As in PyTorch, creating a
 * schedule applies its value for step 0 and each `step()` (once per optimizer step, or per epoch)
 * moves to the next one. The base learning rate is the optimizer's `lr` when the schedule is
 * created; use one schedule per optimizer (CosineAnnealingLR has the linear warm-up built in).
 */
import { describe, rangeError, typeError } from './errors.js';
import { Optimizer } from './optim/optimizer.js';
import { checkFinite, checkInteger, checkNonNegative, checkOptions, checkPositive } from './validate.js';

/** What {@link LRScheduler.state} returns: plain JSON. */
export interface LRSchedulerState {
  /** The schedule's name: `StepLR`, `ExponentialLR`, `CosineAnnealingLR` or `LinearWarmup`. */
  type: string;
  /** Every option, defaults filled in. */
  options: Record<string, unknown>;
  /** The optimizer's lr when the schedule was created. */
  baseLr: number;
  /** Steps taken (PyTorch's `last_epoch`). */
  lastEpoch: number;
  /** The lr the schedule set last. */
  lastLr: number;
}

/** What {@link ReduceLROnPlateau.state} returns: plain JSON. */
export interface ReduceLROnPlateauState {
  type: 'ReduceLROnPlateau';
  options: Record<string, unknown>;
  lastEpoch: number;
  /** The best metric so far; null before the first `step(metric)`. */
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
  lastLr: number;
}

function checkOptimizer(where: string, optimizer: unknown): asserts optimizer is Optimizer {
  if (!(optimizer instanceof Optimizer)) {
    throw typeError(`${where}: optimizer must be an Optimizer (SGD, Adam, AdamW, RMSprop, Adagrad), got ${describe(optimizer)}`);
  }
}

function checkStateObject(where: string, state: unknown, type: string): Record<string, unknown> {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw typeError(`${where}: state must be an object, got ${describe(state)}`);
  }
  const s = state as Record<string, unknown>;
  if (s.type !== type) throw rangeError(`${where}: state.type must be "${type}", got ${describe(s.type)}`, 'ERR_LSTM_STATE');
  if (s.options === null || typeof s.options !== 'object' || Array.isArray(s.options)) {
    throw typeError(`${where}: state.options must be an object, got ${describe(s.options)}`);
  }
  return s;
}

/**
 * The base of the step-driven schedules: `lr = f(t)` for step count t, from the base lr.
 * @typeParam C the schedule's options with every default filled in
 */
export abstract class LRScheduler<C extends object = object> {
  /** The optimizer whose `lr` this schedule sets. */
  readonly optimizer: Optimizer;
  /** @internal */
  protected config: C;
  /** The optimizer's lr when the schedule was created (PyTorch's `initial_lr`). @internal */
  protected baseLr: number;
  private epoch = 0;
  private last: number;

  /** @internal */
  protected constructor(optimizer: Optimizer, options: unknown) {
    const where = `new ${this.type}`;
    checkOptimizer(where, optimizer);
    this.config = this.resolveOptions(where, options);
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
    this.last = this.apply();
  }

  /** The schedule's name, as in {@link LRSchedulerState.type} (each schedule overrides it). */
  get type(): string {
    return 'LRScheduler';
  }

  /** @internal */
  protected abstract resolveOptions(where: string, options: unknown): C;

  /** The learning rate at step t (closed form). @internal */
  protected abstract lrAt(t: number): number;

  private apply(): number {
    const lr = this.lrAt(this.epoch);
    this.optimizer.lr = lr;
    return lr;
  }

  /** Moves to the next step and sets the optimizer's lr. Call after `optimizer.step()`. */
  step(): void {
    this.epoch += 1;
    this.last = this.apply();
  }

  /** The lr this schedule set last (PyTorch's `get_last_lr()`). */
  get lastLr(): number {
    return this.last;
  }

  /** Steps taken (PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.epoch;
  }

  /** A copy of every option, defaults filled in. */
  get options(): Readonly<C> {
    return structuredClone(this.config);
  }

  /** A snapshot for {@link LRScheduler.loadState}. */
  state(): LRSchedulerState {
    return {
      type: this.type, options: structuredClone(this.config) as Record<string, unknown>, baseLr: this.baseLr,
      lastEpoch: this.epoch, lastLr: this.last,
    };
  }

  /**
   * Restores a snapshot of the same kind of schedule (options, base lr, step count, last lr), as
   * PyTorch's `load_state_dict`. Like PyTorch it does not touch the optimizer: restore the
   * optimizer's own state too (it holds the lr). Nothing changes unless all of it is valid.
   * @throws TypeError or RangeError naming what does not match.
   */
  loadState(state: LRSchedulerState): void {
    const where = `${this.type}.loadState`;
    const s = checkStateObject(where, state, this.type);
    const config = this.resolveOptions(where, s.options);
    const baseLr = checkNonNegative(where, 'state.baseLr', s.baseLr);
    const lastEpoch = checkInteger(where, 'state.lastEpoch', s.lastEpoch, 0);
    const lastLr = checkNonNegative(where, 'state.lastLr', s.lastLr);
    this.config = config;
    this.baseLr = baseLr;
    this.epoch = lastEpoch;
    this.last = lastLr;
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between two decays, an integer >= 1 (required). */
  stepSize: number;
  /** Factor applied every stepSize steps, > 0 (default 0.1). */
  gamma?: number;
}

/**
 * torch.optim.lr_scheduler.StepLR: `lr = baseLr * gamma ** floor(t / stepSize)` at step t.
 * @example
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 }); // per epoch: opt.step()s, then sched.step()
 */
export class StepLR extends LRScheduler<Required<StepLROptions>> {
  /** @throws TypeError or RangeError for a non-Optimizer, an unknown option or invalid value. */
  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer, options);
  }

  override get type(): string {
    return 'StepLR';
  }

  protected override resolveOptions(where: string, options: unknown): Required<StepLROptions> {
    const o = checkOptions(where, options, ['stepSize', 'gamma']);
    return {
      stepSize: checkInteger(where, 'stepSize', o.stepSize, 1),
      gamma: o.gamma === undefined ? 0.1 : checkPositive(where, 'gamma', o.gamma),
    };
  }

  protected override lrAt(t: number): number {
    return this.baseLr * this.config.gamma ** Math.floor(t / this.config.stepSize);
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** Factor applied every step, > 0 (required; above 1 grows the lr, as an lr range test does). */
  gamma: number;
}

/** torch.optim.lr_scheduler.ExponentialLR: `lr = baseLr * gamma ** t` at step t. */
export class ExponentialLR extends LRScheduler<Required<ExponentialLROptions>> {
  /** @throws TypeError or RangeError for a non-Optimizer, an unknown option or invalid value. */
  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super(optimizer, options);
  }

  override get type(): string {
    return 'ExponentialLR';
  }

  protected override resolveOptions(where: string, options: unknown): Required<ExponentialLROptions> {
    const o = checkOptions(where, options, ['gamma']);
    return { gamma: checkPositive(where, 'gamma', o.gamma) };
  }

  protected override lrAt(t: number): number {
    return this.baseLr * this.config.gamma ** t;
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Steps of the cosine half-period after the warm-up, an integer >= 1 (required). */
  tMax: number;
  /** The lr reached at the end of the half-period, >= 0 (default 0). */
  etaMin?: number;
  /** Steps of linear warm-up before the cosine, an integer >= 0 (default 0: none). */
  warmupSteps?: number;
  /** The warm-up's first lr as a fraction of the base lr, in (0, 1] (default 1/3, as PyTorch's LinearLR). */
  warmupStartFactor?: number;
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR, with an optional linear warm-up in front. At step t,
 * with W = warmupSteps: for t < W, `lr = baseLr * (warmupStartFactor + (1 - warmupStartFactor) * t / W)`
 * (PyTorch's LinearLR); from t = W on, with k = t - W,
 * `lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * k / tMax)) / 2` (PyTorch's closed form, which
 * keeps following the cosine past tMax). This is exactly PyTorch's
 * `SequentialLR([LinearLR(sf, 1, W), CosineAnnealingLR(tMax, etaMin)], milestones=[W])`, and plain
 * CosineAnnealingLR when W is 0.
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: 1000, warmupSteps: 100 }); // sched.step() per opt.step()
 */
export class CosineAnnealingLR extends LRScheduler<Required<CosineAnnealingLROptions>> {
  /** @throws TypeError or RangeError for a non-Optimizer, an unknown option or invalid value. */
  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer, options);
  }

  override get type(): string {
    return 'CosineAnnealingLR';
  }

  protected override resolveOptions(where: string, options: unknown): Required<CosineAnnealingLROptions> {
    const o = checkOptions(where, options, ['tMax', 'etaMin', 'warmupSteps', 'warmupStartFactor']);
    return {
      tMax: checkInteger(where, 'tMax', o.tMax, 1),
      etaMin: o.etaMin === undefined ? 0 : checkNonNegative(where, 'etaMin', o.etaMin),
      warmupSteps: o.warmupSteps === undefined ? 0 : checkInteger(where, 'warmupSteps', o.warmupSteps, 0),
      warmupStartFactor: o.warmupStartFactor === undefined ? 1 / 3
        : checkFinite(where, 'warmupStartFactor', o.warmupStartFactor, 'in (0, 1]', (v) => v > 0 && v <= 1),
    };
  }

  protected override lrAt(t: number): number {
    const { tMax, etaMin, warmupSteps: w, warmupStartFactor: sf } = this.config;
    if (t < w) return this.baseLr * (sf + (1 - sf) * t / w);
    return etaMin + (this.baseLr - etaMin) * (1 + Math.cos(Math.PI * (t - w) / tMax)) / 2;
  }
}

/** Options of {@link LinearWarmup}. */
export interface LinearWarmupOptions {
  /** Steps to reach the base lr, an integer >= 1 (required). */
  warmupSteps: number;
  /** The first lr as a fraction of the base lr, in (0, 1] (default 1/3, as PyTorch's LinearLR). */
  startFactor?: number;
}

/**
 * torch.optim.lr_scheduler.LinearLR with endFactor 1: at step t,
 * `lr = baseLr * (startFactor + (1 - startFactor) * min(t, warmupSteps) / warmupSteps)`, then the
 * base lr from step warmupSteps on.
 */
export class LinearWarmup extends LRScheduler<Required<LinearWarmupOptions>> {
  /** @throws TypeError or RangeError for a non-Optimizer, an unknown option or invalid value. */
  constructor(optimizer: Optimizer, options: LinearWarmupOptions) {
    super(optimizer, options);
  }

  override get type(): string {
    return 'LinearWarmup';
  }

  protected override resolveOptions(where: string, options: unknown): Required<LinearWarmupOptions> {
    const o = checkOptions(where, options, ['warmupSteps', 'startFactor']);
    return {
      warmupSteps: checkInteger(where, 'warmupSteps', o.warmupSteps, 1),
      startFactor: o.startFactor === undefined ? 1 / 3
        : checkFinite(where, 'startFactor', o.startFactor, 'in (0, 1]', (v) => v > 0 && v <= 1),
    };
  }

  protected override lrAt(t: number): number {
    const { warmupSteps: w, startFactor: sf } = this.config;
    return this.baseLr * (sf + (1 - sf) * Math.min(w, t) / w);
  }
}

/** Options of {@link ReduceLROnPlateau}: torch.optim.lr_scheduler.ReduceLROnPlateau's, camelCase. */
export interface ReduceLROnPlateauOptions {
  /** 'min' when lower metrics are better (a loss), 'max' when higher are (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** Factor the lr is multiplied by on a plateau, in (0, 1) (default 0.1). */
  factor?: number;
  /** Steps without improvement tolerated before reducing, an integer >= 0 (default 10). */
  patience?: number;
  /** Least change that counts as an improvement, >= 0 (default 1e-4). */
  threshold?: number;
  /** 'rel': better than best * (1 ∓ threshold); 'abs': better than best ∓ threshold (default 'rel'). */
  thresholdMode?: 'rel' | 'abs';
  /** Steps to wait after a reduction before counting bad steps again, an integer >= 0 (default 0). */
  cooldown?: number;
  /** The lr is never reduced below this, >= 0 (default 0). */
  minLr?: number;
  /** A reduction smaller than this is skipped, >= 0 (default 1e-8). */
  eps?: number;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: `step(metric)` after each evaluation; when the metric
 * has not improved (by `threshold`, in `thresholdMode`) for more than `patience` steps, the lr
 * becomes `max(lr * factor, minLr)` (skipped when that changes it by no more than eps), then
 * `cooldown` steps pass before bad steps count again. NaN metrics count as no improvement.
 * @example
 * const plateau = new ReduceLROnPlateau(opt, { patience: 2 }); // per epoch: plateau.step(valLoss)
 */
export class ReduceLROnPlateau {
  /** The optimizer whose `lr` this schedule sets. */
  readonly optimizer: Optimizer;
  private config: Required<ReduceLROnPlateauOptions>;
  private bestValue: number | null = null;
  private bad = 0;
  private cooldownLeft = 0;
  private epoch = 0;
  private last: number;

  /** @throws TypeError or RangeError for a non-Optimizer, an unknown option or invalid value. */
  constructor(optimizer: Optimizer, options?: ReduceLROnPlateauOptions) {
    const where = 'new ReduceLROnPlateau';
    checkOptimizer(where, optimizer);
    this.config = resolvePlateau(where, options);
    this.optimizer = optimizer;
    this.last = optimizer.lr;
  }

  /** 'ReduceLROnPlateau'. */
  get type(): string {
    return 'ReduceLROnPlateau';
  }

  /**
   * Records one evaluation's metric and reduces the optimizer's lr on a plateau.
   * @throws TypeError unless metric is a number.
   */
  step(metric: number): void {
    if (typeof metric !== 'number') {
      throw typeError(`ReduceLROnPlateau.step: metric must be a number, got ${describe(metric)}`);
    }
    const c = this.config;
    this.epoch += 1;
    if (this.isBetter(metric)) {
      this.bestValue = metric;
      this.bad = 0;
    } else {
      this.bad += 1;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      this.bad = 0; // bad steps in cooldown are ignored
    }
    if (this.bad > c.patience) {
      const old = this.optimizer.lr;
      const next = Math.max(old * c.factor, c.minLr);
      if (old - next > c.eps) this.optimizer.lr = next;
      this.cooldownLeft = c.cooldown;
      this.bad = 0;
    }
    this.last = this.optimizer.lr;
  }

  private isBetter(a: number): boolean {
    const { mode, threshold, thresholdMode } = this.config;
    const best = this.bestValue ?? (mode === 'min' ? Infinity : -Infinity);
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** The optimizer's lr after the last step (PyTorch's `get_last_lr()`). */
  get lastLr(): number {
    return this.last;
  }

  /** Metrics recorded so far (PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.epoch;
  }

  /** The best metric so far; null before the first step. */
  get best(): number | null {
    return this.bestValue;
  }

  /** Consecutive steps without improvement (PyTorch's `num_bad_epochs`). */
  get numBadEpochs(): number {
    return this.bad;
  }

  /** True while bad steps are not counted after a reduction. */
  get inCooldown(): boolean {
    return this.cooldownLeft > 0;
  }

  /** A copy of every option, defaults filled in. */
  get options(): Readonly<Required<ReduceLROnPlateauOptions>> {
    return { ...this.config };
  }

  /** A snapshot for {@link ReduceLROnPlateau.loadState}. */
  state(): ReduceLROnPlateauState {
    return {
      type: 'ReduceLROnPlateau', options: { ...this.config }, lastEpoch: this.epoch, best: this.bestValue,
      numBadEpochs: this.bad, cooldownCounter: this.cooldownLeft, lastLr: this.last,
    };
  }

  /**
   * Restores a snapshot (options and counters), as PyTorch's `load_state_dict`; the optimizer's lr
   * is not touched (restore the optimizer's state too). Nothing changes unless all of it is valid.
   * @throws TypeError or RangeError naming what does not match.
   */
  loadState(state: ReduceLROnPlateauState): void {
    const where = 'ReduceLROnPlateau.loadState';
    const s = checkStateObject(where, state, 'ReduceLROnPlateau');
    const config = resolvePlateau(where, s.options);
    const lastEpoch = checkInteger(where, 'state.lastEpoch', s.lastEpoch, 0);
    const best = s.best === null ? null : checkFinite(where, 'state.best', s.best, 'or null', () => true);
    const numBadEpochs = checkInteger(where, 'state.numBadEpochs', s.numBadEpochs, 0);
    const cooldownCounter = checkInteger(where, 'state.cooldownCounter', s.cooldownCounter, 0);
    const lastLr = checkNonNegative(where, 'state.lastLr', s.lastLr);
    this.config = config;
    this.epoch = lastEpoch;
    this.bestValue = best;
    this.bad = numBadEpochs;
    this.cooldownLeft = cooldownCounter;
    this.last = lastLr;
  }
}

function checkChoice<T extends string>(where: string, name: string, value: unknown, choices: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (typeof value !== 'string') {
    throw typeError(`${where}: ${name} must be ${choices.map((c) => `"${c}"`).join(' or ')}, got ${describe(value)}`);
  }
  if (!(choices as readonly string[]).includes(value)) {
    throw rangeError(`${where}: ${name} must be ${choices.map((c) => `"${c}"`).join(' or ')}, got ${describe(value)}`);
  }
  return value as T;
}

function resolvePlateau(where: string, options: unknown): Required<ReduceLROnPlateauOptions> {
  const o = checkOptions(where, options,
    ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
  return {
    mode: checkChoice(where, 'mode', o.mode, ['min', 'max'] as const, 'min'),
    factor: o.factor === undefined ? 0.1 : checkFinite(where, 'factor', o.factor, 'in (0, 1)', (v) => v > 0 && v < 1),
    patience: o.patience === undefined ? 10 : checkInteger(where, 'patience', o.patience, 0),
    threshold: o.threshold === undefined ? 1e-4 : checkNonNegative(where, 'threshold', o.threshold),
    thresholdMode: checkChoice(where, 'thresholdMode', o.thresholdMode, ['rel', 'abs'] as const, 'rel'),
    cooldown: o.cooldown === undefined ? 0 : checkInteger(where, 'cooldown', o.cooldown, 0),
    minLr: o.minLr === undefined ? 0 : checkNonNegative(where, 'minLr', o.minLr),
    eps: o.eps === undefined ? 1e-8 : checkNonNegative(where, 'eps', o.eps),
  };
}
