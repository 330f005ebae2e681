/**
 * The loss of a batch: a loss by name or a function with the signature of `losses.*`, averaged over
 * the valid outputs only. Padded per-step class targets carry the ignore index, which
 * crossEntropy skips; padded per-step float targets are masked here, from the unreduced losses.
 * @internal
 */
import { describe, rangeError, typeError } from '../errors.js';
import { losses } from '../losses.js';
import type { Tensor, TensorData } from '../tensor.js';
import type { TrainBatch } from './batches.js';
import type { LossFunction, LossName } from './types.js';

const BY_NAME: Record<LossName, LossFunction> = {
  mse: losses.mse as LossFunction,
  mae: losses.mae as LossFunction,
  huber: losses.huber as LossFunction,
  crossEntropy: losses.crossEntropy as unknown as LossFunction,
  bceWithLogits: losses.binaryCrossEntropyWithLogits as LossFunction,
};

export interface ResolvedLoss {
  /** The loss's name, `custom` for a function. */
  name: LossName | 'custom';
  fn: LossFunction;
  /** True: targets are class ids; false: floats; null: a function, decided by the targets. */
  classTargets: boolean | null;
}

/** Checks `loss` (undefined: crossEntropy when `defaultClass`, else mse). */
export function resolveLoss(where: string, loss: unknown, defaultClass: boolean): ResolvedLoss {
  if (loss === undefined) loss = defaultClass ? 'crossEntropy' : 'mse';
  if (typeof loss === 'function') return { name: 'custom', fn: loss as LossFunction, classTargets: null };
  if (typeof loss !== 'string') throw typeError(`${where}: loss must be a loss name or a function like losses.mse, got ${describe(loss)}`);
  if (!Object.hasOwn(BY_NAME, loss)) {
    throw rangeError(`${where}: loss must be one of ${Object.keys(BY_NAME).map((n) => `'${n}'`).join(', ')} or a function, got ${describe(loss)}`);
  }
  const name = loss as LossName;
  return { name, fn: BY_NAME[name], classTargets: name === 'crossEntropy' };
}

export interface BatchLoss {
  /** Mean over the valid outputs. */
  loss: number;
  /** d loss / d pred, zero at padded outputs. */
  grad: Tensor;
  /** Valid outputs the mean is over (rows for class ids, elements for floats): the batch's weight in an epoch mean. */
  count: number;
}

function checkResult(where: string, r: unknown, pred: Tensor): { loss: unknown; grad: Tensor } {
  const res = r as { loss?: unknown; grad?: Tensor } | null;
  const g = res?.grad;
  if (!res || typeof res !== 'object' || !g || !(g.data instanceof Float32Array) || g.data.length !== pred.data.length) {
    throw typeError(`${where}: the loss function must return { loss, grad } with grad a Float32Array tensor shaped like the prediction, got ${describe(r)}`);
  }
  return res as { loss: unknown; grad: Tensor };
}

/** Rows of a prediction: every dim but the last. */
export function rowsOf(pred: Tensor): number {
  const C = pred.shape[pred.shape.length - 1] ?? 1;
  return C === 0 ? 0 : pred.data.length / C;
}

/** The loss of `pred` against the batch's targets, masked to the valid outputs. */
export function batchLoss(where: string, loss: ResolvedLoss, pred: Tensor, batch: TrainBatch): BatchLoss {
  const y = batch.y as Tensor<TensorData>;
  const mask = batch.rowMask;
  if (y.data instanceof Int32Array) {
    const r = checkResult(where, loss.fn(pred, y), pred);
    let count = 0;
    for (const id of y.data) if (id >= 0) count++;
    return { loss: Number(r.loss), grad: r.grad, count };
  }
  if (!mask) {
    const r = checkResult(where, loss.fn(pred, y), pred);
    return { loss: Number(r.loss), grad: r.grad, count: pred.data.length };
  }
  const r = checkResult(where, loss.fn(pred, y, { reduction: 'none' }), pred);
  const each = r.loss as Tensor;
  const rows = rowsOf(pred);
  const k = pred.data.length / rows;
  const perRow = each.data.length === rows;
  let valid = 0;
  for (let i = 0; i < rows; i++) valid += mask[i]!;
  const n = perRow ? valid : valid * k;
  let sum = 0;
  const grad = r.grad.data;
  for (let i = 0; i < rows; i++) {
    const keep = mask[i] === 1;
    if (keep && perRow) sum += each.data[i]!;
    for (let j = 0; j < k; j++) {
      if (keep && !perRow) sum += each.data[i * k + j]!;
      grad[i * k + j] = keep ? grad[i * k + j]! / n : 0;
    }
  }
  return { loss: sum / n, grad: r.grad, count: n };
}
