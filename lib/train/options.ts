/**
 * Checks the options of `fit` and `Trainer` before any work: unknown names with a did-you-mean,
 * wrong kinds as TypeError, out-of-range values as RangeError, each naming the option.
 * @internal
 */
import { describe, rangeError, typeError } from '../errors.js';
import { Optimizer } from '../optim/optimizer.js';
import { LRScheduler, ReduceLROnPlateau } from '../schedule.js';
import { checkBoolean, checkInteger, checkNumber, checkOptions } from '../validate.js';
import type { Callbacks, CheckpointOptions, EarlyStoppingOptions, FitOptions, ScheduleConfig, TrainerOptions } from './types.js';

/** The options of {@link TrainerOptions}. */
export const TRAINER_KEYS = ['loss', 'optimizer', 'schedule', 'clipGradNorm', 'metrics', 'onNonFinite', 'checkFinite'] as const;
/** The options only `fit` has. */
export const RUN_KEYS = ['epochs', 'batchSize', 'validationData', 'validationSplit', 'shuffle', 'seed', 'callbacks',
  'earlyStopping', 'checkpoint', 'resumeFrom', 'signal', 'tbptt'] as const;
const CALLBACK_KEYS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onCheckpoint', 'onTrainEnd'] as const;

export interface ResolvedSchedule {
  scheduler: LRScheduler | ReduceLROnPlateau;
  interval: 'step' | 'epoch';
  monitor: string | null;
}

export interface ResolvedEarlyStopping {
  monitor: string | null;
  patience: number;
  minDelta: number;
  mode: 'min' | 'max' | 'auto';
  restoreBest: boolean;
}

export interface ResolvedCheckpoint {
  dir: string;
  every: 'epoch' | number;
  keep: number;
}

/** Splits `fit`'s options into the trainer's and the run's, rejecting unknown names. */
export function splitFitOptions(where: string, options: unknown): { trainer: TrainerOptions; run: RunOptions } {
  const o = checkOptions(where, options, [...TRAINER_KEYS, ...RUN_KEYS]);
  const trainer: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) ((TRAINER_KEYS as readonly string[]).includes(k) ? trainer : run)[k] = v;
  return { trainer: trainer as TrainerOptions, run: run as RunOptions };
}

/** The options of one run (`Trainer.fit`): {@link FitOptions} without the trainer's. */
export type RunOptions = Omit<FitOptions, keyof TrainerOptions>;

export function checkSchedule(where: string, schedule: unknown, optimizer: Optimizer): ResolvedSchedule | null {
  if (schedule === undefined) return null;
  let config: ScheduleConfig;
  if (schedule instanceof LRScheduler || schedule instanceof ReduceLROnPlateau) {
    config = { scheduler: schedule };
  } else {
    const o = checkOptions(`${where}: schedule`, schedule, ['scheduler', 'interval', 'monitor']);
    if (!(o.scheduler instanceof LRScheduler || o.scheduler instanceof ReduceLROnPlateau)) {
      throw typeError(`${where}: schedule must be a scheduler (StepLR, CosineAnnealingLR, ReduceLROnPlateau, ...) or { scheduler, interval }, got ${describe(schedule)}`);
    }
    config = o as unknown as ScheduleConfig;
  }
  const plateau = config.scheduler instanceof ReduceLROnPlateau;
  const interval = config.interval ?? (plateau ? 'epoch' : 'step');
  if (interval !== 'step' && interval !== 'epoch') {
    throw rangeError(`${where}: schedule.interval must be 'step' or 'epoch', got ${describe(interval)}`);
  }
  if (plateau && interval !== 'epoch') throw rangeError(`${where}: schedule.interval must be 'epoch' for ReduceLROnPlateau (it steps on a monitored value)`);
  if (config.monitor !== undefined && typeof config.monitor !== 'string') {
    throw typeError(`${where}: schedule.monitor must be a string, got ${describe(config.monitor)}`);
  }
  if (config.scheduler.optimizer !== optimizer) {
    throw rangeError(`${where}: schedule must drive the optimizer fit uses (pass that optimizer as the optimizer option)`);
  }
  return { scheduler: config.scheduler, interval, monitor: config.monitor ?? null };
}

export function checkOptimizer(where: string, optimizer: unknown, values: Float32Array): void {
  if (!(optimizer instanceof Optimizer)) {
    throw typeError(`${where}: optimizer must be an Optimizer (SGD, Adam, AdamW, RMSprop, Adagrad), got ${describe(optimizer)}`);
  }
  if (optimizer.params.values !== values && !(optimizer.params.values.buffer === values.buffer
    && optimizer.params.values.byteOffset === values.byteOffset && optimizer.params.values.length === values.length)) {
    throw rangeError(`${where}: optimizer must update this model's parameters (build it with model.parameters())`);
  }
}

export function checkEarlyStopping(where: string, value: unknown): ResolvedEarlyStopping | null {
  if (value === undefined) return null;
  const name = `${where}: earlyStopping`;
  const o = checkOptions(name, value, ['monitor', 'patience', 'minDelta', 'mode', 'restoreBest']) as EarlyStoppingOptions;
  if (o.monitor !== undefined && typeof o.monitor !== 'string') throw typeError(`${name}.monitor must be a string, got ${describe(o.monitor)}`);
  const mode = o.mode ?? 'auto';
  if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw rangeError(`${name}.mode must be 'min', 'max' or 'auto', got ${describe(mode)}`);
  return {
    monitor: o.monitor ?? null,
    patience: o.patience === undefined ? 0 : checkInteger(name, 'patience', o.patience, 0),
    minDelta: o.minDelta === undefined ? 0 : checkNumber(name, 'minDelta', o.minDelta, 0),
    mode,
    restoreBest: o.restoreBest === undefined ? false : checkBoolean(name, 'restoreBest', o.restoreBest),
  };
}

export function checkCheckpoint(where: string, value: unknown): ResolvedCheckpoint | null {
  if (value === undefined) return null;
  const name = `${where}: checkpoint`;
  const o = checkOptions(name, value, ['dir', 'every', 'keep']) as Partial<CheckpointOptions>;
  if (typeof o.dir !== 'string' || o.dir === '') throw typeError(`${name}.dir must be a non-empty string (a folder), got ${describe(o.dir)}`);
  const every = o.every === undefined || o.every === 'epoch' ? 'epoch' : checkInteger(name, 'every', o.every, 1);
  return { dir: o.dir, every, keep: o.keep === undefined ? 3 : checkInteger(name, 'keep', o.keep, 1) };
}

export function checkCallbacks(where: string, value: unknown): Callbacks {
  const o = checkOptions(`${where}: callbacks`, value, CALLBACK_KEYS);
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined && typeof v !== 'function') throw typeError(`${where}: callbacks.${k} must be a function, got ${describe(v)}`);
  }
  return o as Callbacks;
}

export function checkSignal(where: string, value: unknown): AbortSignal | null {
  if (value === undefined) return null;
  if (!(value instanceof AbortSignal)) throw typeError(`${where}: signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

export function checkOnNonFinite(where: string, value: unknown): 'stop' | 'skip' {
  if (value === undefined) return 'stop';
  if (value !== 'stop' && value !== 'skip') throw rangeError(`${where}: onNonFinite must be 'stop' or 'skip', got ${describe(value)}`);
  return value;
}
