/**
 * Loss functions with their gradients, PyTorch's definitions: `mse`, `mae`, `huber`,
 * `crossEntropy` (softmax over the last dim, fused in native code), `binaryCrossEntropyWithLogits`.
 *
 * Each returns `{ loss, grad }`: `grad` is d loss / d (first argument), same shape as it. With
 * `reduction: 'mean'` (the default) or `'sum'`, `loss` is a number. With `reduction: 'none'`,
 * `loss` is a tensor of the unreduced losses and `grad` is the gradient of their SUM (so a caller
 * who weights the losses multiplies `grad` by the same weights per element or row).
 * There is no autograd: pass `grad` to the backward of whatever produced the first argument.
 */
import { loadNative } from './binding.js';
import { describe, formatShape, rangeError, typeError } from './errors.js';
import { checkTensor, numel, type Tensor } from './tensor.js';
import { checkInteger, checkNumber, checkOptions } from './validate.js';

/** How elementwise or per-row losses are combined: averaged (default), summed, or returned as is. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * What every loss returns. `loss` is a number for 'mean' and 'sum', and a tensor of the unreduced
 * losses for 'none'; `grad` is d loss / d input (d sum(loss) / d input for 'none').
 */
export interface LossResult<R extends Reduction = 'mean'> {
  loss: R extends 'none' ? Tensor : number;
  grad: Tensor;
}

/** The option every loss takes. */
export interface ReductionOptions<R extends Reduction = Reduction> {
  /** 'mean' (default): the average over elements (rows for crossEntropy); 'sum'; 'none'. */
  reduction?: R;
}

/** Options of {@link huber}. */
export interface HuberOptions<R extends Reduction = Reduction> extends ReductionOptions<R> {
  /** Where the loss turns from quadratic to linear; > 0. Default 1. */
  delta?: number;
}

/** Options of {@link crossEntropy}; the names are PyTorch's nn.CrossEntropyLoss arguments in camelCase. */
export interface CrossEntropyOptions<R extends Reduction = Reduction> extends ReductionOptions<R> {
  /** A target equal to this contributes nothing (loss and gradient 0, not counted by 'mean'); an int32. Default -100. */
  ignoreIndex?: number;
  /** eps in [0, 1]: the target distribution is (1 - eps) one-hot + eps uniform over the C classes. Default 0. */
  labelSmoothing?: number;
  /** Float32 class weights, shape [C]; 'mean' then divides by the sum of the weights of the counted targets. */
  weight?: Tensor;
  /**
   * A float32 tensor shaped like logits to write the gradient into, returned as `grad`: reuse one
   * between steps instead of allocating N*C floats per call. It may be `logits` itself (the
   * gradient then replaces the logits, saving the memory), but must not partly overlap it.
   */
  gradOut?: Tensor;
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BCEWithLogitsOptions<R extends Reduction = Reduction> extends ReductionOptions<R> {
  /** Float32 weight of the positive term per class (the last dim of logits), shape [C]. Default: ones. */
  posWeight?: Tensor;
}

/** Class-index targets of {@link crossEntropy}. */
export type ClassTargets = Tensor<Int32Array> | Tensor<BigInt64Array>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** checkTensor with any shape: the rank is taken from the value itself. */
function checkAnyTensor(where: string, name: string, value: unknown): Tensor {
  const shape = value !== null && typeof value === 'object' ? (value as { shape?: unknown }).shape : undefined;
  const rank = Array.isArray(shape) ? shape.length : 0;
  return checkTensor(where, name, value, new Array<null>(rank).fill(null), Float32Array);
}

function checkReduction(where: string, value: unknown): Reduction {
  if (value === undefined) return 'mean';
  if (value === 'mean' || value === 'sum' || value === 'none') return value;
  const message = `${where}: reduction must be 'mean', 'sum' or 'none', got ${describe(value)}`;
  throw typeof value === 'string' ? rangeError(message) : typeError(message);
}

/** Wraps the sum of elementwise losses into the result for `reduction` (n elements). */
function finish<R extends Reduction>(reduction: Reduction, sum: number, n: number, each: Float32Array | null,
  grad: Float32Array, shape: readonly number[]): LossResult<R> {
  const g: Tensor = { data: grad, shape: [...shape] };
  if (reduction === 'none') return { loss: { data: each!, shape: [...shape] }, grad: g } as LossResult<R>;
  return { loss: reduction === 'mean' ? sum / n : sum, grad: g } as LossResult<R>;
}

/** Checks pred/target of an elementwise loss: Float32 tensors of the same shape. */
function checkPair(where: string, pred: unknown, target: unknown): [Tensor, Tensor] {
  const p = checkAnyTensor(where, 'pred', pred);
  const t = checkTensor(where, 'target', target, p.shape, Float32Array, 'the shape of pred');
  return [p, t];
}

/**
 * The loop shared by the elementwise regression losses: `each(d)` gives the loss and its
 * derivative for one difference d = pred_i - target_i.
 */
function regression<R extends Reduction>(reduction: Reduction, p: Tensor, t: Tensor,
  each: (d: number) => [loss: number, grad: number]): LossResult<R> {
  const n = p.data.length;
  const scale = reduction === 'mean' ? 1 / n : 1;
  const grad = new Float32Array(n);
  const perElement = reduction === 'none' ? new Float32Array(n) : null;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const [l, g] = each(p.data[i]! - t.data[i]!);
    sum += l;
    if (perElement) perElement[i] = l;
    grad[i] = g * scale;
  }
  return finish<R>(reduction, sum, n, perElement, grad, p.shape);
}

/**
 * Mean squared error, PyTorch's MSELoss: loss_i = (pred_i - target_i)^2, averaged ('mean', the
 * default: the mean of an empty tensor is NaN), summed ('sum') or returned per element ('none').
 * pred and target are float32 tensors of the same (any) shape; grad has that shape.
 * @throws TypeError for a non-tensor or a non-Float32 array, RangeError for different shapes, an
 * unknown option or a bad reduction.
 * @example const { loss, grad } = losses.mse(pred, target); // loss: number, grad: d loss / d pred
 */
export function mse<R extends Reduction = 'mean'>(pred: Tensor, target: Tensor, options?: ReductionOptions<R>): LossResult<R> {
  const where = 'losses.mse';
  const opts = checkOptions(where, options, ['reduction']);
  const reduction = checkReduction(where, opts.reduction);
  const [p, t] = checkPair(where, pred, target);
  return regression<R>(reduction, p, t, (d) => [d * d, 2 * d]);
}

/**
 * Mean absolute error, PyTorch's L1Loss: loss_i = |pred_i - target_i|, reduced as {@link mse}.
 * The gradient is sign(pred_i - target_i) (0 where they are equal, as PyTorch).
 * pred and target are float32 tensors of the same (any) shape; grad has that shape.
 * @throws as {@link mse}.
 * @example const { loss, grad } = losses.mae(pred, target, { reduction: 'sum' });
 */
export function mae<R extends Reduction = 'mean'>(pred: Tensor, target: Tensor, options?: ReductionOptions<R>): LossResult<R> {
  const where = 'losses.mae';
  const opts = checkOptions(where, options, ['reduction']);
  const reduction = checkReduction(where, opts.reduction);
  const [p, t] = checkPair(where, pred, target);
  return regression<R>(reduction, p, t, (d) => [Math.abs(d), Math.sign(d)]);
}

/**
 * Huber loss, PyTorch's HuberLoss: with d = pred_i - target_i, loss_i = d^2 / 2 when |d| < delta,
 * else delta (|d| - delta / 2); reduced as {@link mse}. delta > 0, default 1 (then it equals
 * PyTorch's SmoothL1Loss with beta 1). pred and target are float32 tensors of the same (any)
 * shape; grad has that shape.
 * @throws as {@link mse}, and RangeError for delta <= 0 or not finite.
 * @example const { loss, grad } = losses.huber(pred, target, { delta: 0.5 });
 */
export function huber<R extends Reduction = 'mean'>(pred: Tensor, target: Tensor, options?: HuberOptions<R>): LossResult<R> {
  const where = 'losses.huber';
  const opts = checkOptions(where, options, ['delta', 'reduction']);
  const reduction = checkReduction(where, opts.reduction);
  let delta = 1;
  if (opts.delta !== undefined) {
    delta = checkNumber(where, 'delta', opts.delta);
    if (!(delta > 0)) throw rangeError(`${where}: delta must be a finite number > 0, got ${describe(delta)}`);
  }
  const [p, t] = checkPair(where, pred, target);
  return regression<R>(reduction, p, t, (d) => {
    const a = Math.abs(d);
    return a < delta ? [0.5 * d * d, d] : [delta * (a - 0.5 * delta), delta * Math.sign(d)];
  });
}

/** Formats flat index i of `shape` as `[1, 2]` (for error messages). */
function unflatten(i: number, shape: readonly number[]): string {
  const idx: number[] = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    idx[k] = i % d;
    i = Math.floor(i / d);
  }
  return formatShape(idx);
}

/**
 * Checks class-index targets of shape `lead` and returns them as an Int32Array (the same array for
 * Int32Array input; converted, with each value checked, for BigInt64Array).
 */
function checkTargets(where: string, value: unknown, lead: number[], logitsShape: readonly number[], C: number,
  ignoreIndex: number): Int32Array {
  const data = value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)
    ? (value as { data?: unknown }).data : undefined;
  const hint = `the shape of logits ${formatShape(logitsShape)} without its last (class) dim`;
  const isBig = data instanceof BigInt64Array;
  if (!isBig && !(data instanceof Int32Array) && value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)
    && 'data' in value && 'shape' in value) {
    throw typeError(`${where}: targets.data must be an Int32Array or a BigInt64Array of class indices, got ${describe(data)}`);
  }
  const t = isBig
    ? checkTensor(where, 'targets', value, lead, BigInt64Array, hint)
    : checkTensor(where, 'targets', value, lead, Int32Array, hint);
  const bad = (i: number, v: number | bigint): RangeError => {
    const at = lead.length > 1 ? ` (index ${unflatten(i, lead)})` : '';
    return rangeError(`${where}: targets[${i}]${at} must be a class index in [0, ${C}) or ignoreIndex (${ignoreIndex}), got ${v}`);
  };
  if (t.data instanceof Int32Array) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v !== ignoreIndex && (v < 0 || v >= C)) throw bad(i, v);
    }
    return d;
  }
  const d = t.data as BigInt64Array;
  const out = new Int32Array(d.length);
  const ignore = BigInt(ignoreIndex);
  const classes = BigInt(C);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v === ignore) out[i] = ignoreIndex;
    else if (v < 0n || v >= classes) throw bad(i, v);
    else out[i] = Number(v);
  }
  return out;
}

/**
 * Softmax cross-entropy with class-index targets, PyTorch's CrossEntropyLoss with the classes in
 * the LAST dim (PyTorch puts them in dim 1; this equals PyTorch on `logits.reshape(-1, C)`).
 * - logits: float32 (..., C), any leading dims, e.g. (B, T, V) or (N, C); C >= 1.
 * - targets: class indices with the leading shape (...), an Int32Array or BigInt64Array tensor;
 *   each in [0, C) or equal to ignoreIndex.
 * Per row n with target t (p = softmax of the row, w = class weights or ones, eps = labelSmoothing):
 *   loss_n = (1 - eps) w_t (-log p_t) + (eps / C) sum_c w_c (-log p_c), and 0 for an ignored row.
 * 'mean' (default) divides the sum by the number of non-ignored rows, or with `weight` by the sum of
 * their targets' weights (PyTorch). When that is 0 (every target ignored) the loss is NaN, as
 * PyTorch's 0/0, and grad is all zeros, so a fully ignored batch changes no parameter.
 * 'none' returns the per-row losses, shape (...) (0 for ignored rows). grad has the shape of logits
 * and is a new array unless `gradOut` is given (which may be logits itself, for an in-place gradient).
 * Computed natively in one fused pass per row (float32 data, double sums), threaded over rows for
 * large inputs; logits of any magnitude give finite results (the row max is subtracted), a NaN or
 * +inf logit makes its row NaN.
 * @throws TypeError for a non-tensor, non-Float32 logits or targets that are not Int32/BigInt64;
 * RangeError for a shape mismatch, a target outside [0, C) that is not ignoreIndex (naming its flat
 * position and value), labelSmoothing outside [0, 1], an ignoreIndex outside int32, non-finite
 * weights, a gradOut partly overlapping logits, a bad reduction or an unknown option.
 * @example const { loss, grad } = losses.crossEntropy(logits, { data: Int32Array.from([3, 1]), shape: [2] }); // logits (2, C)
 */
export function crossEntropy<R extends Reduction = 'mean'>(logits: Tensor, targets: ClassTargets,
  options?: CrossEntropyOptions<R>): LossResult<R> {
  const where = 'losses.crossEntropy';
  const opts = checkOptions(where, options, ['gradOut', 'ignoreIndex', 'labelSmoothing', 'reduction', 'weight']);
  const reduction = checkReduction(where, opts.reduction);
  const ignoreIndex = opts.ignoreIndex === undefined ? -100
    : checkInteger(where, 'ignoreIndex', opts.ignoreIndex, INT32_MIN, INT32_MAX);
  const labelSmoothing = opts.labelSmoothing === undefined ? 0
    : checkNumber(where, 'labelSmoothing', opts.labelSmoothing, 0, 1);
  const x = checkAnyTensor(where, 'logits', logits);
  const C = x.shape.length > 0 ? x.shape[x.shape.length - 1]! : 0;
  if (C < 1) {
    throw rangeError(`${where}: logits must have shape [..., C] with C >= 1 classes in the last dim, got ${formatShape(x.shape)}`,
      'ERR_LSTM_SHAPE');
  }
  const lead = x.shape.slice(0, -1);
  const N = numel(lead);
  if (N > INT32_MAX || C > INT32_MAX) {
    throw rangeError(`${where}: logits ${formatShape(x.shape)} has too many rows or classes (each must be < 2^31)`, 'ERR_LSTM_SHAPE');
  }
  let weight: Float32Array | null = null;
  if (opts.weight !== undefined) {
    weight = checkTensor(where, 'weight', opts.weight, [C], Float32Array, `one per class, C = ${C}`).data;
    for (let c = 0; c < C; c++) {
      if (!Number.isFinite(weight[c]!)) throw rangeError(`${where}: weight[${c}] must be finite, got ${describe(weight[c])}`);
    }
  }
  const t = checkTargets(where, targets, lead, x.shape, C, ignoreIndex);
  let g: Tensor;
  if (opts.gradOut === undefined) {
    g = { data: new Float32Array(N * C), shape: [...x.shape] };
  } else {
    g = checkTensor(where, 'gradOut', opts.gradOut, x.shape, Float32Array, 'the shape of logits');
    const grad = g.data;
    if (grad.buffer === x.data.buffer && grad.byteOffset !== x.data.byteOffset
      && grad.byteOffset < x.data.byteOffset + x.data.byteLength && x.data.byteOffset < grad.byteOffset + grad.byteLength) {
      throw rangeError(`${where}: gradOut must be logits itself or not overlap it, got a view that partly overlaps logits`);
    }
  }
  const rowLoss = reduction === 'none' ? new Float32Array(N) : null;
  const total = loadNative().softmaxCrossEntropy({
    N, C, logits: x.data, targets: t, weight, ignoreIndex, labelSmoothing, reduction, grad: g.data, rowLoss,
  });
  if (rowLoss) return { loss: { data: rowLoss, shape: lead }, grad: g } as LossResult<R>;
  return { loss: total, grad: g } as LossResult<R>;
}

/**
 * Binary cross-entropy on logits, PyTorch's BCEWithLogitsLoss, in the stable form
 *   loss_i = (1 - y) x + l (log1p(exp(-|x|)) + max(-x, 0)),  l = 1 + (posWeight_c - 1) y
 * (= -[posWeight_c y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]), with c the index in the last
 * dim. logits and targets are float32 tensors of the same (any) shape; targets are probabilities
 * (soft labels allowed, not checked, as PyTorch). posWeight: float32 [C], C = the last dim of logits
 * (1 for a scalar). Reduced as {@link mse}; grad = (1 - y) - l sigmoid(-x), scaled, shape of logits.
 * @throws as {@link mse}, and RangeError for a posWeight of the wrong shape.
 * @example const { loss, grad } = losses.binaryCrossEntropyWithLogits(logits, labels, { posWeight });
 */
export function binaryCrossEntropyWithLogits<R extends Reduction = 'mean'>(logits: Tensor, targets: Tensor,
  options?: BCEWithLogitsOptions<R>): LossResult<R> {
  const where = 'losses.binaryCrossEntropyWithLogits';
  const opts = checkOptions(where, options, ['posWeight', 'reduction']);
  const reduction = checkReduction(where, opts.reduction);
  const x = checkAnyTensor(where, 'logits', logits);
  const y = checkTensor(where, 'targets', targets, x.shape, Float32Array, 'the shape of logits');
  const C = x.shape.length > 0 ? x.shape[x.shape.length - 1]! : 1;
  const pw = opts.posWeight === undefined ? null
    : checkTensor(where, 'posWeight', opts.posWeight, [C], Float32Array, 'one per class: the last dim of logits').data;
  const n = x.data.length;
  const scale = reduction === 'mean' ? 1 / n : 1;
  const grad = new Float32Array(n);
  const each = reduction === 'none' ? new Float32Array(n) : null;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = x.data[i]!;
    const yi = y.data[i]!;
    const l = pw ? 1 + (pw[i % C]! - 1) * yi : 1;
    const e = Math.exp(-Math.abs(xi));                 // (0, 1]
    const sigNeg = xi >= 0 ? e / (1 + e) : 1 / (1 + e); // sigmoid(-x)
    const loss = (1 - yi) * xi + l * (Math.log1p(e) + Math.max(-xi, 0));
    sum += loss;
    if (each) each[i] = loss;
    grad[i] = ((1 - yi) - l * sigNeg) * scale;
  }
  return finish<R>(reduction, sum, n, each, grad, x.shape);
}

/**
 * The loss functions, each returning `{ loss, grad }`:
 * `mse`, `mae`, `huber`, `crossEntropy`, `binaryCrossEntropyWithLogits`.
 * @example import { losses } from 'lstm-native'; const { loss, grad } = losses.crossEntropy(logits, targets);
 */
export const losses = { mse, mae, huber, crossEntropy, binaryCrossEntropyWithLogits } as const;
