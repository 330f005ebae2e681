/**
 * The public types of training: what `fit` takes (data, options, callbacks) and what it returns (a
 * history). Epochs and steps in progress reports and history are counted from 1.
 */
import type { Reduction, LossResult } from '../losses.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { LRScheduler, ReduceLROnPlateau } from '../schedule.js';
import type { Tensor, TensorData } from '../tensor.js';

/** Valid steps of each sequence: an array of integers or an Int32Array. */
export type Lengths = ArrayLike<number> | Int32Array;

/**
 * Inputs: ragged sequences of feature vectors `number[][][]` (N sequences, each T_i x I), a tensor
 * (N, T, I) (with optional `lengths`), token ids as an Int32Array tensor (N, T) or `number[][]`
 * (ragged allowed) for a model that starts with an Embedding.
 */
export type InputData = number[][][] | number[][] | Tensor<Float32Array> | Tensor<Int32Array>;

/**
 * Targets: per sequence (`number[][]` (N, k), a tensor (N, k), class ids as `number[]` or an Int32Array
 * tensor (N)) or per step (`number[][][]` / tensor (N, T, k), class ids `number[][]` / Int32Array
 * tensor (N, T)): per step when the model's output keeps the time axis.
 */
export type TargetData = number[] | number[][] | number[][][] | Tensor<Float32Array> | Tensor<Int32Array>;

/** An in-memory data set. */
export interface ArrayData {
  x: InputData;
  y: TargetData;
  /** Valid steps of each sequence when `x` is a padded tensor (N entries). */
  lengths?: Lengths;
}

/** A token stream for truncated BPTT (`tbptt` option): one long sequence of token ids. */
export interface TokenData {
  tokens: Int32Array | number[] | Tensor<Int32Array>;
}

/** One ready batch, as an async iterable yields them: the forms of {@link ArrayData}, sequence first (fit lays it out for the model). */
export interface Batch {
  x: Tensor<TensorData> | number[][][] | number[][];
  y: TargetData;
  lengths?: Lengths;
}

/**
 * What `fit` trains on: an in-memory data set, a token stream (with `tbptt`), or an async iterable
 * of ready batches. An iterable is iterated once per epoch (`[Symbol.asyncIterator]()` is called
 * again); it must yield the same batches in the same order every epoch for `resumeFrom` to be exact.
 */
export type FitData = ArrayData | TokenData | AsyncIterable<Batch>;

/** A loss function with the signature of `losses.*`. */
export type LossFunction = (pred: Tensor, target: Tensor<TensorData>, options?: { reduction?: Reduction }) =>
  LossResult<'mean'> | LossResult<'none'> | LossResult<Reduction>;

/** Loss names of {@link FitOptions.loss}. */
export type LossName = 'mse' | 'mae' | 'huber' | 'crossEntropy' | 'bceWithLogits';

/** Metric names of {@link FitOptions.metrics}. */
export type MetricName = 'accuracy' | 'perplexity' | 'bitsPerChar' | 'mae' | 'rmse';

/** What every progress callback gets. */
export interface Progress {
  /** Epoch, from 1. */
  epoch: number;
  /** Step within the epoch, from 1. */
  step: number;
  /** Steps in this epoch, when known (null for an async iterable's first epoch). */
  stepsPerEpoch: number | null;
  /** Optimizer steps since the start (skipped batches not counted). */
  globalStep: number;
  /** Loss of this batch (NaN for a skipped one). */
  loss: number;
  /** Learning rate this step used. */
  lr: number;
  /** Training samples per second in this epoch so far (sequences, or tokens with tbptt). */
  samplesPerSec: number;
  /** Estimated seconds until the run ends at the current pace (null while unknown). */
  eta: number | null;
}

/** One epoch of a {@link History}. */
export interface EpochRecord {
  /** Epoch, from 1. */
  epoch: number;
  /** Mean training loss over the epoch's samples (skipped batches excluded). */
  loss: number;
  /** Mean validation loss, or null without validation data. */
  valLoss: number | null;
  /** Training metrics by name. */
  metrics: Record<string, number>;
  /** Validation metrics by name (empty without validation data). */
  valMetrics: Record<string, number>;
  /** Learning rate at the end of the epoch. */
  lr: number;
  /** Wall time of the epoch (training and validation), in seconds. */
  seconds: number;
  /** Training samples per second in the epoch (sequences, or tokens with tbptt). */
  samplesPerSec: number;
  /** Batches skipped for a non-finite loss or gradient (onNonFinite 'skip'). */
  skippedBatches: number;
}

/** What `fit` resolves to. */
export interface History {
  epochs: EpochRecord[];
  /** True when early stopping ended the run. */
  stoppedEarly: boolean;
  /** The epoch with the best monitored value (early stopping's monitor, else valLoss or loss), or null. */
  bestEpoch: number | null;
  /** The best monitored value, or null. */
  bestValue: number | null;
  /** What bestEpoch and bestValue refer to: `valLoss`, `loss`, `valAccuracy`, ... */
  monitor: string;
  /** Batches skipped over the whole run (onNonFinite 'skip'). */
  skippedBatches: number;
}

/** Callbacks; each may be async (it is awaited) and a throw stops the run with that error. */
export interface Callbacks {
  onTrainBegin?: () => void | Promise<void>;
  onEpochBegin?: (p: { epoch: number }) => void | Promise<void>;
  onBatchEnd?: (p: Progress) => void | Promise<void>;
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  onCheckpoint?: (p: { path: string; epoch: number; globalStep: number }) => void | Promise<void>;
  onTrainEnd?: (history: History) => void | Promise<void>;
}

/** Early stopping, as Keras' EarlyStopping. */
export interface EarlyStoppingOptions {
  /** `valLoss` (default with validation data), `loss` (default without), or a metric (`accuracy`, `valAccuracy`, ...). */
  monitor?: string;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** 'min', 'max', or 'auto' (default: max for accuracy, min otherwise). */
  mode?: 'min' | 'max' | 'auto';
  /** Put back the weights of the best epoch when the run ends (default false). */
  restoreBest?: boolean;
}

/** Periodic checkpoints. */
export interface CheckpointOptions {
  /** Folder of the checkpoint files (created if missing). */
  dir: string;
  /** 'epoch' (default): after every epoch; a number n: every n optimizer steps (and after every epoch). */
  every?: 'epoch' | number;
  /** How many of the newest checkpoints to keep (default 3). */
  keep?: number;
}

/** Truncated backpropagation through time over a token stream. */
export interface TbpttOptions {
  /** Steps per chunk: the gradient flows back at most this far. */
  steps: number;
}

/** A schedule with when to step it (Lightning's `interval`). */
export interface ScheduleConfig {
  scheduler: LRScheduler | ReduceLROnPlateau;
  /** 'step' (default for LRScheduler): after each optimizer step; 'epoch' (default for ReduceLROnPlateau). */
  interval?: 'step' | 'epoch';
  /** For ReduceLROnPlateau: the value it watches (default valLoss with validation data, else loss). */
  monitor?: string;
}

/** Options of the training step shared by `fit` and {@link Trainer}. */
export interface TrainerOptions {
  /** Loss name or function (default: crossEntropy for class-id targets and token streams, else mse). */
  loss?: LossName | LossFunction;
  /** Optimizer over `model.parameters()` (default Adam with lr 1e-3). */
  optimizer?: Optimizer;
  /** Learning-rate schedule: a scheduler, or `{ scheduler, interval, monitor }`. */
  schedule?: LRScheduler | ReduceLROnPlateau | ScheduleConfig;
  /** Clip the global gradient norm to this before each step. */
  clipGradNorm?: number;
  /** Metrics computed on training and validation data. */
  metrics?: MetricName[];
  /** A non-finite loss or gradient: 'stop' the run with an error (default), or 'skip' the batch. */
  onNonFinite?: 'stop' | 'skip';
  /**
   * Check every float input tensor (`x.data` of the training data, validation data, iterable
   * batches and `trainStep` batches) for NaN and ±Infinity before it is used (default false: a
   * tensor is taken as it is; arrays of numbers are always checked). A bad value throws a
   * `RangeError` with code `ERR_LSTM_NON_FINITE` naming the argument and the first bad index,
   * e.g. `fit: x[3, 7, 0] must be finite (checkFinite), got NaN`. Costs one pass over the data.
   */
  checkFinite?: boolean;
}

/** Options of `model.fit`. */
export interface FitOptions extends TrainerOptions {
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Sequences per batch, or parallel streams with tbptt (default 32). */
  batchSize?: number;
  /** Held-out data evaluated after each epoch (same forms as the training data). */
  validationData?: ArrayData | TokenData | AsyncIterable<Batch>;
  /** Fraction in (0, 1) of the in-memory data held out for validation: the last samples (tokens), as Keras. */
  validationSplit?: number;
  /** Reshuffle the in-memory samples every epoch (default true; not for token streams or iterables). */
  shuffle?: boolean;
  /** Seed of the shuffling (default 0): epoch e's order depends on (seed, e) only. */
  seed?: number;
  callbacks?: Callbacks;
  earlyStopping?: EarlyStoppingOptions;
  checkpoint?: CheckpointOptions;
  /** A checkpoint file, or a checkpoint folder (its newest), to continue from. */
  resumeFrom?: string;
  /** Aborting writes a checkpoint (with `checkpoint.dir`) after the current step, then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Truncated BPTT over `{ tokens }`: chunks of `steps`, (h, c) carried across chunks, the gradient cut. */
  tbptt?: TbpttOptions;
}

/** Options of `model.predict`. */
export interface PredictOptions {
  /** Sequences per forward (default 64). */
  batchSize?: number;
  /** Valid steps of each sequence when x is a padded tensor. */
  lengths?: Lengths;
  /**
   * Check a float tensor `x` for NaN and ±Infinity before any work (default false; arrays of
   * numbers are always checked): a `RangeError` with code `ERR_LSTM_NON_FINITE` naming the first
   * bad index, e.g. `predict: x[0, 2, 1] must be finite (checkFinite), got Infinity`.
   */
  checkFinite?: boolean;
}
