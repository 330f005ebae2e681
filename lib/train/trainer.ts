/**
 * Trainer: the training step (forward, loss, backward, clipping, optimizer, schedule) with the
 * heavy work off the main thread, evaluation and prediction over batches, and `fit`, the full loop
 * (fit-loop.ts). `model.fit` and `model.predict` are built on it; a custom loop uses it directly.
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { Module } from '../layers/module.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { optimNative } from '../optim/native.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { BusyLease } from '../parameters.js';
import type { Tensor, TensorData } from '../tensor.js';
import { checkInteger, checkOptions, checkPositive } from '../validate.js';
import type { BatchSource, TrainBatch } from './batches.js';

/** A batch already in the model's layout, as {@link Trainer.batches} yields it. */
export type PreparedBatch = TrainBatch;
import { assemble } from './batches.js';
import { ChainRunner, yieldToEventLoop } from './chain-runner.js';
import type { RecurrentState } from '../layers/module.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { encodeCheckpoint, readCheckpoint, type CheckpointData } from './checkpoint.js';
import type { RandomState } from '../random.js';
import { batchLoss, resolveLoss, type BatchLoss, type ResolvedLoss } from './loss.js';
import { checkMetrics, MetricSums } from './metrics.js';
import { modelInfo, type ModelInfo } from './model-info.js';
import { checkOnNonFinite, checkOptimizer, checkSchedule, TRAINER_KEYS, type ResolvedSchedule, type RunOptions } from './options.js';
import { targetKind, toInputs, toTargets } from './samples.js';
import { makeSources, type ClassLoss } from './sources.js';
import type { ArrayData, Batch, FitData, History, InputData, MetricName, PredictOptions, TokenData, TrainerOptions } from './types.js';

/**
 * The full loop, installed by fit-loop.ts: the loop is built on Trainer, so Trainer reaches it
 * through this seam instead of importing it (lib/ keeps no import cycle).
 */
let fitRunner: ((trainer: Trainer, data: FitData, options: RunOptions) => Promise<History>) | null = null;

/** Installs the loop behind {@link Trainer.fit} (called once by fit-loop.ts). @internal */
export function setFitRunner(run: (trainer: Trainer, data: FitData, options: RunOptions) => Promise<History>): void {
  fitRunner = run;
}

/** What {@link Trainer.trainStep} returns. */
export interface StepResult {
  /** The batch's mean loss (NaN when skipped for a non-finite loss). */
  loss: number;
  /** Global gradient norm before clipping (NaN when the loss was not finite). */
  gradNorm: number;
  /** True when the batch was skipped (onNonFinite 'skip'). */
  skipped: boolean;
  /** The final (h, c) of every LSTM in chain order: pass it as `initialState` of the next chunk (truncated BPTT). */
  state: RecurrentState[];
}

/** Options of {@link Trainer.trainStep}. */
export interface TrainStepOptions {
  /** The initial (h, c) of every LSTM in chain order (a previous step's `state`); zeros when omitted. */
  initialState?: RecurrentState[];
}

/** Options of {@link Trainer.batches}. */
export interface BatchesOptions {
  /** Sequences per batch, or parallel streams with tbptt (default 32). */
  batchSize?: number;
  /** Shuffle in-memory samples (default true), by (seed, epoch). */
  shuffle?: boolean;
  seed?: number;
  /** The epoch (from 0) whose order to give. */
  epoch?: number;
  /** Chunks of a `{ tokens }` stream. */
  tbptt?: { steps: number };
}

/** What {@link Trainer.evaluate} returns. */
export interface EvaluateResult {
  loss: number;
  metrics: Record<string, number>;
}

/** Where a step is, for error messages. @internal */
export interface StepWhere {
  epoch: number;
  step: number;
  globalStep: number;
}

/**
 * Trains a model: holds the loss, optimizer, schedule, clipping and metrics, and runs steps off
 * the main thread (every LSTM as native async work).
 * @example
 * const trainer = new Trainer(model, { loss: 'mse', clipGradNorm: 1 });
 * for (const batch of myBatches) await trainer.trainStep(batch);   // { x, y, lengths? } sample-first
 * const { loss } = await trainer.evaluate({ x: xVal, y: yVal });
 */
export class Trainer {
  readonly model: Module;
  /** @internal */
  readonly runner: ChainRunner;
  /** @internal */
  readonly info: ModelInfo;
  /** @internal */
  readonly schedule: ResolvedSchedule | null;
  /** @internal */
  readonly clip: number | null;
  /** @internal */
  readonly onNonFinite: 'stop' | 'skip';
  private readonly lossOption: unknown;
  private readonly metricsOption: unknown;
  private opt: Optimizer | null;
  private resolved: { loss: ResolvedLoss; metrics: MetricName[]; kind: 'class' | 'float' } | null = null;

  /**
   * @param model a Sequential (or any layer) to train
   * @param options loss, optimizer (default Adam 1e-3), schedule, clipGradNorm, metrics, onNonFinite
   * @param where the caller named in error messages (`fit` when model.fit builds it) @internal
   * @throws TypeError / RangeError naming a bad or unknown option (with a did-you-mean)
   */
  constructor(model: Module, options: TrainerOptions = {}, where = 'new Trainer') {
    if (!(model instanceof Module)) throw typeError(`${where}: model must be a layer or Sequential, got ${describe(model)}`);
    const o = checkOptions(where, options, TRAINER_KEYS);
    this.model = model;
    if (o.checkFinite !== undefined && typeof o.checkFinite !== 'boolean') {
      throw typeError(`${where}: checkFinite must be a boolean, got ${describe(o.checkFinite)}`);
    }
    this.info = { ...modelInfo(where, model), checkFinite: o.checkFinite === true };
    this.runner = new ChainRunner(model);
    const values = model.parameters().values;
    if (o.optimizer !== undefined) checkOptimizer(where, o.optimizer, values);
    this.opt = (o.optimizer as Optimizer | undefined) ?? null;
    this.schedule = o.schedule === undefined ? null : checkSchedule(where, o.schedule, this.optimizer);
    this.clip = o.clipGradNorm === undefined ? null : checkPositive(where, 'clipGradNorm', o.clipGradNorm);
    this.onNonFinite = checkOnNonFinite(where, o.onNonFinite);
    if (o.loss !== undefined) resolveLoss(where, o.loss, false);
    checkMetrics(where, o.metrics, null);
    this.lossOption = o.loss;
    this.metricsOption = o.metrics;
  }

  /** The optimizer (Adam with lr 1e-3 over the model's parameters unless one was given). */
  get optimizer(): Optimizer {
    this.opt ??= new Adam(this.model.parameters(), { lr: 1e-3 });
    return this.opt;
  }

  /** The loss the trainer uses for targets of `kind`, with its metrics; fixed by the first data seen. @internal */
  resolve(where: string, kind: 'class' | 'float'): { loss: ResolvedLoss; metrics: MetricName[] } {
    if (this.resolved && this.resolved.kind !== kind) {
      throw rangeError(`${where}: targets are ${kind === 'class' ? 'class ids' : 'floats'}, but this trainer's earlier data had ${this.resolved.kind === 'class' ? 'class ids' : 'floats'}`);
    }
    if (!this.resolved) {
      const loss = resolveLoss(where, this.lossOption, kind === 'class');
      if (loss.classTargets !== null && loss.classTargets !== (kind === 'class')) {
        throw rangeError(`${where}: the ${loss.name} loss needs ${loss.classTargets ? 'class-id' : 'float'} targets`);
      }
      this.resolved = { loss, metrics: checkMetrics(where, this.metricsOption, kind === 'class'), kind };
    }
    return this.resolved;
  }

  /** The metric names asked for (checked against the targets once they are known). @internal */
  get metricNames(): readonly string[] {
    return (this.metricsOption as string[] | undefined) ?? [];
  }

  /** The kind of targets fixed by the data seen so far, or null. @internal */
  get targetKind(): 'class' | 'float' | null {
    return this.resolved?.kind ?? null;
  }

  /** The target kind the configured loss wants (null: decided by the data). @internal */
  get classLoss(): ClassLoss {
    if (this.resolved) return this.resolved.kind === 'class';
    return this.lossOption === undefined || typeof this.lossOption === 'function' ? null
      : resolveLoss('', this.lossOption, false).classTargets;
  }

  /**
   * One training step on a ready batch `{ x, y, lengths? }` (the forms of `fit`'s `{ x, y }`):
   * forward, loss, backward, clipping, optimizer step, and a per-step schedule.
   */
  async trainStep(batch: Batch | PreparedBatch, options: TrainStepOptions = {}): Promise<StepResult> {
    const where = 'trainer.trainStep';
    if (batch === null || typeof batch !== 'object') throw typeError(`${where}: batch must be { x, y, lengths? }, got ${describe(batch)}`);
    const o = checkOptions(where, options, ['initialState']);
    const initial = o.initialState === undefined ? null : this.checkState(where, o.initialState);
    let b: TrainBatch;
    if ((batch as PreparedBatch).prepared === true) {
      b = batch as PreparedBatch;
      this.resolve(where, b.y!.data instanceof Int32Array ? 'class' : 'float');
    } else {
      const raw = batch as Batch;
      const inputs = toInputs(where, raw.x, raw.lengths, this.info);
      const kind = targetKind(raw.y, this.classLoss, this.info);
      this.resolve(where, kind);
      const set = { inputs, targets: toTargets(where, raw.y, inputs, this.info, kind) };
      b = assemble(set, Uint32Array.from({ length: inputs.n }, (_, i) => i), this.info);
    }
    return this.hold(where, async () => (await this.step(where, b, initial, null)).result);
  }

  private checkState(where: string, state: unknown): RecurrentState[] {
    const n = this.runner.lstms.length;
    if (!Array.isArray(state) || state.length !== n || !state.every((s) => s && typeof s === 'object' && 'h' in s && 'c' in s)) {
      throw typeError(`${where}: initialState must be an array of ${n} { h, c } (one per LSTM, as StepResult.state), got ${describe(state)}`);
    }
    return state as RecurrentState[];
  }

  /**
   * The batches of one epoch of data, in the model's layout, for a custom loop: pass each to
   * {@link Trainer.trainStep} (with tbptt, pass each step's `state` on as the next `initialState`).
   */
  async *batches(data: FitData, options: BatchesOptions = {}): AsyncIterable<PreparedBatch> {
    const where = 'trainer.batches';
    const o = checkOptions(where, options, ['batchSize', 'shuffle', 'seed', 'epoch', 'tbptt']);
    const batchSize = checkInteger(where, 'batchSize', o.batchSize ?? 32);
    const shuffle = o.shuffle === undefined ? true : o.shuffle === true;
    const seed = checkInteger(where, 'seed', o.seed ?? 0, 0, 0xffffffff);
    const epoch = checkInteger(where, 'epoch', o.epoch ?? 0, 0);
    const tbptt = o.tbptt === undefined ? null : checkInteger(where, 'tbptt.steps', (o.tbptt as { steps?: unknown }).steps);
    const src = makeSources(where, data, { batchSize, shuffle, seed, tbptt, validationSplit: 0 }, this.info, this.classLoss);
    yield* src.train.batches(epoch, 0);
  }

  /** The lease the model is held under while {@link Trainer.hold} runs, and what for. */
  private held: { where: string; lease: BusyLease } | null = null;

  /**
   * Runs `fn` with the model held (its block busy: other calls on it throw ERR_LSTM_BUSY),
   * restoring its mode after. @internal
   */
  async hold<T>(where: string, fn: () => Promise<T>): Promise<T> {
    const training = this.model.isTraining;
    this.held = { where, lease: this.model.block.acquire(where) };
    try {
      return await fn();
    } finally {
      this.held.lease.release();
      this.held = null;
      this.model.train(training);
    }
  }

  /**
   * Runs synchronous work that writes the block (optimizer, clipping) with the lease released: the
   * block rules want it idle for them. No await in between, so no other code sees the model idle.
   */
  private unheld<T>(fn: () => T): T {
    const h = this.held;
    if (!h) return fn();
    h.lease.release();
    try {
      return fn();
    } finally {
      h.lease = this.model.block.acquire(h.where);
    }
  }

  /** The lease of the current hold, for the chain calls. */
  private get lease(): BusyLease | undefined {
    return this.held?.lease;
  }

  /**
   * The step on an assembled batch; `initial` is the carried (h, c). Returns the result, the batch's
   * loss (null when skipped) and the LSTMs' final states. @internal
   */
  async step(where: string, batch: TrainBatch, initial: RecurrentState[] | null, at: StepWhere | null):
    Promise<{ result: StepResult; loss: BatchLoss | null; pred: Tensor | null; states: RecurrentState[] }> {
    const { loss } = this.resolved!;
    const opt = this.optimizer;
    const params = opt.params;
    this.model.train(true);
    await yieldToEventLoop();
    this.unheld(() => opt.zeroGrad());
    const out = await this.runner.forward(batch.x as Tensor<TensorData>, { lengths: batch.lengths, initial, lease: this.lease });
    const bl = batchLoss(where, loss, out.output, batch);
    if (!Number.isFinite(bl.loss)) {
      const what = out.output.data.some((v) => !Number.isFinite(v)) ? 'the model output has non-finite values' : 'the targets or the loss function';
      this.nonFinite(where, `loss is ${bl.loss}`, what, at);
      return { result: { loss: bl.loss, gradNorm: NaN, skipped: true, state: out.states }, loss: null, pred: null, states: out.states };
    }
    await this.runner.backward(bl.grad, this.lease);
    const clip = this.clip;
    const norm = this.unheld(() => (clip !== null ? clipGradNorm(params, clip) : Math.sqrt(optimNative().sumSquares({ x: params.grads }))));
    if (!Number.isFinite(norm)) {
      const slot = params.slots.find((s) => params.grads.subarray(s.offset, s.offset + s.size).some((v) => !Number.isFinite(v)));
      this.nonFinite(where, `gradient norm is ${norm}`, `gradient of ${slot?.name ?? 'a parameter'} has non-finite values`, at);
      this.unheld(() => opt.zeroGrad());
      return { result: { loss: bl.loss, gradNorm: norm, skipped: true, state: out.states }, loss: null, pred: null, states: out.states };
    }
    this.unheld(() => opt.step());
    if (this.schedule?.interval === 'step') (this.schedule.scheduler as { step(): void }).step();
    return { result: { loss: bl.loss, gradNorm: norm, skipped: false, state: out.states }, loss: bl, pred: out.output, states: out.states };
  }

  private nonFinite(where: string, what: string, tensor: string, at: StepWhere | null): void {
    if (this.onNonFinite === 'skip') return;
    const step = at ? ` at epoch ${at.epoch}, step ${at.step} (global step ${at.globalStep})` : '';
    throw new LstmError(`${where}: non-finite ${what}${step}: ${tensor}; no update was made (onNonFinite: 'skip' skips such batches)`,
      'ERR_LSTM_NON_FINITE');
  }

  /**
   * Mean loss and metrics over data (`{ x, y }`, `{ tokens }` with `tbptt`, or an async iterable),
   * in evaluation mode (dropout off), without gradients.
   */
  async evaluate(data: ArrayData | TokenData | AsyncIterable<Batch>, options: { batchSize?: number; tbptt?: { steps: number } } = {}):
    Promise<EvaluateResult> {
    const where = 'trainer.evaluate';
    const o = checkOptions(where, options, ['batchSize', 'tbptt']);
    const batchSize = checkInteger(where, 'batchSize', o.batchSize ?? 64);
    const tbptt = o.tbptt === undefined ? null : checkInteger(where, 'tbptt.steps', (o.tbptt as { steps?: unknown }).steps);
    const src = makeSources(where, data, { batchSize, shuffle: false, seed: 0, tbptt, validationSplit: 0 }, this.info, this.classLoss);
    return this.hold(where, () => this.evaluateSource(where, src.train));
  }

  /** Evaluation over a batch source (the model is already held). @internal */
  async evaluateSource(where: string, source: BatchSource): Promise<EvaluateResult> {
    this.model.train(false);
    let sum = 0;
    let count = 0;
    let sums: MetricSums | null = null;
    let carried: RecurrentState[] | null = null;
    for await (const batch of source.batches(0, 0)) {
      const { loss, metrics } = this.resolve(where, batch.y!.data instanceof Int32Array ? 'class' : 'float');
      sums ??= new MetricSums(metrics, loss.name);
      const out = await this.runner.forward(batch.x as Tensor<TensorData>, { lengths: batch.lengths, initial: carried, noGrad: true, lease: this.lease });
      if (source.carriesState) carried = out.states;
      const bl = batchLoss(where, loss, out.output, batch);
      sum += bl.loss * bl.count;
      count += bl.count;
      sums.add(out.output, batch, bl);
    }
    if (count === 0) throw rangeError(`${where}: the data yielded no batches`);
    return { loss: sum / count, metrics: sums!.values() };
  }

  /**
   * The model's output for every sequence of x, in evaluation mode, batch by batch off the main
   * thread: (N, outFeatures) per sequence, or (N, T, outFeatures) per step (T the longest sequence;
   * zeros past each sequence's length).
   */
  async predict(x: InputData, options: PredictOptions = {}): Promise<Tensor> {
    const where = 'predict';
    const o = checkOptions(where, options, ['batchSize', 'lengths', 'checkFinite']);
    const batchSize = checkInteger(where, 'batchSize', o.batchSize ?? 64);
    if (o.checkFinite !== undefined && typeof o.checkFinite !== 'boolean') {
      throw typeError(`${where}: checkFinite must be a boolean, got ${describe(o.checkFinite)}`);
    }
    const inputs = toInputs(where, x, o.lengths as PredictOptions['lengths'], { ...this.info, checkFinite: o.checkFinite === true });
    return this.hold(where, async () => {
      this.model.train(false);
      const N = inputs.n;
      const Tmax = inputs.lens.reduce((a, b) => Math.max(a, b), 0);
      let out: Float32Array | null = null;
      let F = 0;
      let perStep = false;
      for (let from = 0; from < N; from += batchSize) {
        const idx = Uint32Array.from({ length: Math.min(batchSize, N - from) }, (_, i) => from + i);
        const batch = assemble({ inputs, targets: null }, idx, this.info);
        const pred = (await this.runner.forward(batch.x as Tensor<TensorData>, { lengths: batch.lengths, noGrad: true, lease: this.lease })).output;
        F = pred.shape[pred.shape.length - 1]!;
        perStep = pred.shape.length === 3;
        out ??= new Float32Array(N * (perStep ? Tmax : 1) * F);
        const B = idx.length;
        for (let b = 0; b < B; b++) {
          if (!perStep) { out.set(pred.data.subarray(b * F, (b + 1) * F), (from + b) * F); continue; }
          const T = pred.shape[this.info.timeMajor ? 0 : 1]!;
          for (let t = 0; t < inputs.lens[from + b]!; t++) {
            const row = this.info.timeMajor ? t * B + b : b * T + t;
            out.set(pred.data.subarray(row * F, (row + 1) * F), ((from + b) * Tmax + t) * F);
          }
        }
      }
      return { data: out!, shape: perStep ? [N, Tmax, F] : [N, F] };
    });
  }

  /**
   * Writes a checkpoint of the model, optimizer, schedule and generators to `path` (atomically,
   * without blocking), with `extra` (plain JSON: an epoch counter, a data position) stored beside.
   */
  async saveCheckpoint(path: string, extra: Record<string, unknown> = {}): Promise<void> {
    const where = 'trainer.saveCheckpoint';
    if (typeof path !== 'string' || path === '') throw typeError(`${where}: path must be a non-empty string, got ${describe(path)}`);
    await this.hold(where, async () => {
      const opt = this.optimizer;
      const bytes = encodeCheckpoint(opt.params.slots, {
        weights: opt.params.values, optimizer: opt.state(), schedule: this.schedule?.scheduler.state() ?? null,
        rng: this.model.rngState(), position: { epoch: 0, batch: 0, globalStep: opt.stepCount }, carried: null, best: null,
        run: { extra },
      });
      await writeFileAtomic(where, path, [bytes]);
    });
  }

  /** Restores what {@link Trainer.saveCheckpoint} (or a fit checkpoint) wrote; returns its `extra`. */
  async loadCheckpoint(path: string): Promise<Record<string, unknown>> {
    const where = 'trainer.loadCheckpoint';
    if (typeof path !== 'string' || path === '') throw typeError(`${where}: path must be a non-empty string, got ${describe(path)}`);
    const opt = this.optimizer;
    const ck = await readCheckpoint(path, opt.params.slots, opt.params.size);
    this.model.assertIdle(where);
    this.restore(where, path, ck);
    return (ck.run.extra as Record<string, unknown> | undefined) ?? {};
  }

  /**
   * Puts the weights, optimizer, schedule and generators where a checkpoint left them; each part
   * is checked before it changes anything. Synchronous, so nothing runs in between. @internal
   */
  restore(where: string, path: string, ck: CheckpointData): void {
    const s = this.schedule?.scheduler;
    if (!s !== !ck.schedule) {
      throw rangeError(`${where}: ${path} ${s ? 'has no schedule state but this run has a schedule' : 'has a schedule state but this run has none'}`);
    }
    this.model.loadRngState((ck.rng ?? {}) as Record<string, RandomState>);
    this.optimizer.loadState(ck.optimizer);
    if (s) (s as { loadState(x: unknown): void }).loadState(ck.schedule);
    this.optimizer.params.values.set(ck.weights);
  }

  /**
   * The full training loop: epochs of shuffled batches, validation, callbacks, early stopping,
   * checkpoints, resume and abort (the options of `model.fit` other than the trainer's own).
   */
  async fit(data: FitData, options: RunOptions = {}): Promise<History> {
    if (!fitRunner) throw new LstmError('trainer.fit: the training loop (lib/train/fit-loop.ts) is not loaded', 'ERR_LSTM_STATE');
    return fitRunner(this, data, options);
  }
}
