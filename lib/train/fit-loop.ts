/**
 * The epoch loop behind `fit`: batches from the source, one Trainer step each, progress callbacks,
 * validation, epoch schedules, early stopping, checkpoints, resume and abort.
 *
 * Exact resume: everything a later step depends on is either in the checkpoint (weights, optimizer
 * and schedule state, the layers' generators, the carried TBPTT state, the running sums of the
 * epoch) or derived from what is (epoch e's order comes from (seed, e); a resumed epoch skips the
 * batches already trained). A run resumed from any checkpoint therefore computes the same losses,
 * bit for bit, as the run that wrote it, given the same data, options and thread count.
 * @internal
 */
import { performance } from 'node:perf_hooks';
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { ReduceLROnPlateau } from '../schedule.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../validate.js';
import { abortError } from './abort.js';
import type { BatchSource } from './batches.js';
import type { RecurrentState } from '../layers/module.js';
import { readCheckpoint, resolveResume, saveCheckpoint, type CheckpointData, type Position } from './checkpoint.js';
import { METRIC_NAMES, MetricSums } from './metrics.js';
import { checkCallbacks, checkCheckpoint, checkEarlyStopping, checkSignal, RUN_KEYS, type ResolvedCheckpoint,
  type ResolvedEarlyStopping, type RunOptions } from './options.js';
import { makeSources, type SourceOptions } from './sources.js';
import type { Trainer } from './trainer.js';
import type { Callbacks, EpochRecord, FitData, History, Progress } from './types.js';

/** Running sums of one epoch; part of a checkpoint so a resumed epoch reports the same means. */
interface EpochSums {
  lossSum: number;
  count: number;
  samples: number;
  seconds: number;
  steps: number;
  skipped: number;
  metrics: number[];
}

/** The loop's own state in a checkpoint (plain JSON). */
interface RunState {
  fingerprint: Record<string, unknown>;
  history: EpochRecord[];
  sums: EpochSums;
  best: { value: number | null; epoch: number | null; wait: number };
  skipped: number;
}

const freshSums = (): EpochSums => ({ lossSum: 0, count: 0, samples: 0, seconds: 0, steps: 0, skipped: 0, metrics: [] });

/** Names a monitor may take: loss, valLoss, a metric, or val + a metric (`valAccuracy`). */
function monitorNames(): string[] {
  const cap = (m: string) => m[0]!.toUpperCase() + m.slice(1);
  return ['loss', 'valLoss', ...METRIC_NAMES, ...METRIC_NAMES.map((m) => `val${cap(m)}`)];
}

function monitorValue(record: EpochRecord, monitor: string): number | null {
  if (monitor === 'loss') return record.loss;
  if (monitor === 'valLoss') return record.valLoss;
  if (monitor.startsWith('val')) {
    const m = monitor[3]!.toLowerCase() + monitor.slice(4);
    return record.valMetrics[m] ?? null;
  }
  return record.metrics[monitor] ?? null;
}

function checkMonitor(where: string, name: string, monitor: string, hasVal: boolean, metrics: readonly string[]): void {
  const known = monitorNames();
  if (!known.includes(monitor)) throw rangeError(`${where}: ${name} must be one of ${known.join(', ')}, got ${describe(monitor)}`);
  if (monitor.startsWith('val') && !hasVal) throw rangeError(`${where}: ${name} ${monitor} needs validationData or validationSplit`);
  const metric = monitor.startsWith('val') && monitor !== 'valLoss' ? monitor[3]!.toLowerCase() + monitor.slice(4) : monitor;
  if (metric !== 'loss' && metric !== 'valLoss' && !metrics.includes(metric)) {
    throw rangeError(`${where}: ${name} ${monitor} needs the metric ${metric} in metrics`);
  }
}

interface Resolved {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  validationSplit: number;
  tbptt: number | null;
  callbacks: Callbacks;
  early: ResolvedEarlyStopping | null;
  checkpoint: ResolvedCheckpoint | null;
  resumeFrom: string | null;
  signal: AbortSignal | null;
}

function resolveRun(where: string, options: unknown): Resolved & { validationData: unknown } {
  const o = checkOptions(where, options, RUN_KEYS);
  let tbptt: number | null = null;
  if (o.tbptt !== undefined) {
    const t = checkOptions(`${where}: tbptt`, o.tbptt, ['steps']);
    tbptt = checkInteger(`${where}: tbptt`, 'steps', t.steps);
  }
  const validationSplit = o.validationSplit === undefined ? 0 : checkNumber(where, 'validationSplit', o.validationSplit, 0, 1, false);
  if (o.validationSplit !== undefined && validationSplit === 0) throw rangeError(`${where}: validationSplit must be in (0, 1), got 0`);
  if (o.validationData !== undefined && validationSplit > 0) throw rangeError(`${where}: pass validationData or validationSplit, not both`);
  if (o.resumeFrom !== undefined && (typeof o.resumeFrom !== 'string' || o.resumeFrom === '')) {
    throw typeError(`${where}: resumeFrom must be a checkpoint file or folder path, got ${describe(o.resumeFrom)}`);
  }
  return {
    epochs: checkInteger(where, 'epochs', o.epochs ?? 1),
    batchSize: checkInteger(where, 'batchSize', o.batchSize ?? 32),
    shuffle: checkBoolean(where, 'shuffle', o.shuffle ?? true),
    seed: checkInteger(where, 'seed', o.seed ?? 0, 0, 0xffffffff),
    validationSplit,
    tbptt,
    callbacks: checkCallbacks(where, o.callbacks),
    early: checkEarlyStopping(where, o.earlyStopping),
    checkpoint: checkCheckpoint(where, o.checkpoint),
    resumeFrom: (o.resumeFrom as string | undefined) ?? null,
    signal: checkSignal(where, o.signal),
    validationData: o.validationData,
  };
}

/** `Trainer.fit`: checks everything, then trains with the model held. */
export async function runFit(trainer: Trainer, data: FitData, options: RunOptions): Promise<History> {
  const where = 'fit';
  const r = resolveRun(where, options);
  const srcOpts: SourceOptions = { batchSize: r.batchSize, shuffle: r.shuffle, seed: r.seed, tbptt: r.tbptt, validationSplit: r.validationSplit };
  const sources = makeSources(where, data, srcOpts, trainer.info, trainer.classLoss);
  let val: BatchSource | null = sources.split;
  if (r.validationData !== undefined) {
    val = makeSources(where, r.validationData, { ...srcOpts, shuffle: false, validationSplit: 0 }, trainer.info, trainer.classLoss,
      'validationData').train;
  }
  if (sources.kind) trainer.resolve(where, sources.kind);
  const metrics = trainer.metricNames;
  const monitor = r.early?.monitor ?? (val ? 'valLoss' : 'loss');
  checkMonitor(where, 'earlyStopping.monitor', monitor, val !== null, metrics);
  const plateauMonitor = trainer.schedule?.scheduler instanceof ReduceLROnPlateau ? trainer.schedule.monitor ?? (val ? 'valLoss' : 'loss') : null;
  if (plateauMonitor) checkMonitor(where, 'schedule.monitor', plateauMonitor, val !== null, metrics);
  const fingerprint = { batchSize: r.batchSize, shuffle: r.shuffle, seed: r.seed, tbptt: r.tbptt, size: sources.size,
    stepsPerEpoch: sources.train.stepsPerEpoch };
  if (r.signal?.aborted) throw abortError(where, r.signal, ' before training started');
  const run = new FitRun(trainer, r, sources.train, val, monitor, plateauMonitor, fingerprint);
  if (r.resumeFrom) {
    const path = await resolveResume(where, r.resumeFrom);
    const params = trainer.optimizer.params;
    const ck = await readCheckpoint(path, params.slots, params.size);
    // Applied synchronously right before the model is held: nothing can run in between.
    trainer.model.assertIdle(where);
    run.resume(path, ck);
  }
  return trainer.hold(where, () => run.run());
}

class FitRun {
  private pos: Position = { epoch: 0, batch: 0, globalStep: 0 };
  private state: RunState;
  private carried: RecurrentState[] | null = null;
  private bestWeights: Float32Array | null = null;
  private readonly mode: 'min' | 'max';

  constructor(private readonly t: Trainer, private readonly r: Resolved, private readonly train: BatchSource,
    private readonly val: BatchSource | null, private readonly monitor: string, private readonly plateauMonitor: string | null,
    fingerprint: Record<string, unknown>) {
    this.state = { fingerprint, history: [], sums: freshSums(), best: { value: null, epoch: null, wait: 0 }, skipped: 0 };
    const m = r.early?.mode ?? 'auto';
    this.mode = m === 'auto' ? (monitor.toLowerCase().includes('accuracy') ? 'max' : 'min') : m;
  }

  async run(): Promise<History> {
    const { r, t } = this;
    await r.callbacks.onTrainBegin?.();
    let stopped = false;
    while (this.pos.epoch < r.epochs && !stopped) {
      stopped = await this.epoch();
    }
    if (r.early?.restoreBest && this.bestWeights) t.optimizer.params.values.set(this.bestWeights);
    const history: History = {
      epochs: this.state.history, stoppedEarly: stopped, bestEpoch: this.state.best.epoch, bestValue: this.state.best.value,
      monitor: this.monitor, skippedBatches: this.state.skipped,
    };
    await r.callbacks.onTrainEnd?.(history);
    return history;
  }

  /** One epoch from the current position; true when early stopping ends the run. */
  private async epoch(): Promise<boolean> {
    const { r, t, train } = this;
    const e = this.pos.epoch;
    if (this.pos.batch === 0) {
      this.state.sums = freshSums();
      this.carried = null;
      await r.callbacks.onEpochBegin?.({ epoch: e + 1 });
    }
    const sums = this.state.sums;
    let metricSums: MetricSums | null = null;
    const sumsFor = (kind: 'class' | 'float'): MetricSums => {
      const { loss, metrics } = t.resolve('fit', kind);
      const m = new MetricSums(metrics, loss.name);
      if (sums.metrics.length) m.load(sums.metrics);
      return m;
    };
    if (t.targetKind) metricSums = sumsFor(t.targetKind);
    const started = performance.now() - sums.seconds * 1000;
    for await (const batch of train.batches(e, this.pos.batch)) {
      t.resolve('fit', batch.y!.data instanceof Int32Array ? 'class' : 'float');
      metricSums ??= sumsFor(t.targetKind!);
      const lr = t.optimizer.lr;
      const at = { epoch: e + 1, step: this.pos.batch + 1, globalStep: this.pos.globalStep + 1 };
      const s = await t.step('fit', batch, train.carriesState ? this.carried : null, at);
      if (train.carriesState) this.carried = s.states;
      this.pos.batch += 1;
      sums.steps += 1;
      sums.samples += batch.samples;
      if (s.result.skipped) {
        sums.skipped += 1;
        this.state.skipped += 1;
      } else {
        this.pos.globalStep += 1;
        sums.lossSum += s.loss!.loss * s.loss!.count;
        sums.count += s.loss!.count;
        metricSums.add(s.pred!, batch, s.loss!);
      }
      sums.metrics = metricSums.state();
      sums.seconds = (performance.now() - started) / 1000;
      await r.callbacks.onBatchEnd?.(this.progress(at, s.result.loss, lr));
      const every = r.checkpoint?.every;
      const lastOfEpoch = train.stepsPerEpoch !== null && this.pos.batch === train.stepsPerEpoch;
      if (typeof every === 'number' && !s.result.skipped && this.pos.globalStep % every === 0 && !lastOfEpoch) await this.checkpoint();
      if (r.signal?.aborted) {
        await this.checkpoint();
        throw abortError('fit', r.signal, ` at epoch ${e + 1}, step ${this.pos.batch}${r.checkpoint ? ' (checkpoint written)' : ''}`);
      }
    }
    if (sums.steps === 0) {
      throw rangeError(`fit: the data yielded no batches in epoch ${e + 1} (an async iterable must be iterable again every epoch)`);
    }
    const valResult = this.val ? await t.evaluateSource('fit: validation', this.val) : null;
    t.model.train(true);
    const record: EpochRecord = {
      epoch: e + 1,
      loss: sums.lossSum / sums.count,
      valLoss: valResult ? valResult.loss : null,
      metrics: metricSums?.values() ?? {},
      valMetrics: valResult?.metrics ?? {},
      lr: t.optimizer.lr,
      seconds: (performance.now() - started) / 1000,
      samplesPerSec: sums.samples / Math.max(sums.seconds, 1e-9),
      skippedBatches: sums.skipped,
    };
    this.stepEpochSchedule(record);
    record.lr = t.optimizer.lr;
    this.state.history.push(record);
    const stop = this.updateBest(record);
    this.pos = { epoch: e + 1, batch: 0, globalStep: this.pos.globalStep };
    this.carried = null;
    this.state.sums = freshSums();
    await r.callbacks.onEpochEnd?.(record);
    await this.checkpoint();
    if (r.signal?.aborted) throw abortError('fit', r.signal, ` after epoch ${e + 1}${r.checkpoint ? ' (checkpoint written)' : ''}`);
    return stop;
  }

  private progress(at: { epoch: number; step: number; globalStep: number }, loss: number, lr: number): Progress {
    const { sums } = this.state;
    const steps = this.train.stepsPerEpoch;
    const perStep = sums.seconds / Math.max(1, sums.steps);
    const remaining = steps === null ? null : steps - at.step + (this.r.epochs - at.epoch) * steps;
    return {
      epoch: at.epoch, step: at.step, stepsPerEpoch: steps, globalStep: this.pos.globalStep, loss, lr,
      samplesPerSec: sums.samples / Math.max(sums.seconds, 1e-9),
      eta: remaining === null ? null : remaining * perStep,
    };
  }

  private stepEpochSchedule(record: EpochRecord): void {
    const s = this.t.schedule;
    if (!s || s.interval !== 'epoch') return;
    if (s.scheduler instanceof ReduceLROnPlateau) {
      const v = monitorValue(record, this.plateauMonitor!);
      s.scheduler.step(v ?? NaN);
    } else {
      s.scheduler.step();
    }
  }

  /**
   * Tracks the best monitored value; true when early stopping's patience ran out: `patience`
   * epochs in a row without improvement (at least one), as Keras and Lightning count.
   */
  private updateBest(record: EpochRecord): boolean {
    const v = monitorValue(record, this.monitor);
    const best = this.state.best;
    const delta = this.r.early?.minDelta ?? 0;
    const better = v !== null && Number.isFinite(v) && (best.value === null
      || (this.mode === 'min' ? v < best.value - delta : v > best.value + delta));
    if (better) {
      best.value = v;
      best.epoch = record.epoch;
      best.wait = 0;
      if (this.r.early?.restoreBest) this.bestWeights = this.t.optimizer.params.values.slice();
      return false;
    }
    best.wait += 1;
    return this.r.early !== null && best.wait >= Math.max(1, this.r.early.patience);
  }

  private async checkpoint(): Promise<void> {
    const c = this.r.checkpoint;
    if (!c) return;
    const t = this.t;
    const s = t.schedule?.scheduler;
    const data: CheckpointData = {
      weights: t.optimizer.params.values,
      optimizer: t.optimizer.state(),
      schedule: s ? s.state() : null,
      rng: t.model.rngState(),
      position: { ...this.pos },
      carried: this.pos.batch > 0 ? this.carried : null,
      best: this.bestWeights,
      run: this.state as unknown as Record<string, unknown>,
    };
    const path = await saveCheckpoint(c.dir, c.keep, t.optimizer.params.slots, data);
    await this.r.callbacks.onCheckpoint?.({ path, epoch: this.pos.epoch + (this.pos.batch === 0 ? 0 : 1), globalStep: this.pos.globalStep });
  }

  /** Puts the model, optimizer, schedule, generators and loop where the checkpoint left them. */
  resume(path: string, ck: CheckpointData): void {
    const t = this.t;
    const run = ck.run as unknown as RunState;
    const mine = this.state.fingerprint;
    for (const [k, v] of Object.entries(run.fingerprint ?? {})) {
      if (k !== 'stepsPerEpoch' && mine[k] !== v) {
        throw rangeError(`fit: resumeFrom ${path} was written with ${k} ${JSON.stringify(v)}, this run has ${JSON.stringify(mine[k])}; resume with the same data and options`);
      }
    }
    t.restore('fit: resumeFrom', path, ck);
    this.pos = ck.position;
    this.carried = ck.carried;
    this.bestWeights = ck.best;
    this.state = { ...run, fingerprint: mine };
    if (!Array.isArray(this.state.history)) throw new LstmError(`${path}: checkpoint run state has no history`, 'ERR_LSTM_FILE');
  }
}
