/** Gradient clipping over a model's flat gradient array: torch.nn.utils.clip_grad_norm_ and clip_grad_value_. */
import { describe, rangeError, typeError } from '../errors.js';
import { checkParameters, type Parameters } from '../parameters.js';
import { checkPositive } from '../validate.js';
import { optimNative } from './native.js';

/**
 * Scales every gradient in place so that their global norm is at most `maxNorm`, exactly as
 * torch.nn.utils.clip_grad_norm_: the norm is taken over all of `params.grads` at once, and the
 * gradients are multiplied by `maxNorm / (norm + 1e-6)` only when that factor is below 1. A
 * non-finite norm (a NaN or infinite gradient) is returned as is and, as PyTorch does with
 * `error_if_nonfinite=False`, leaves the gradients NaN or zero: check the returned value.
 * @param params what `model.parameters()` returns
 * @param maxNorm the largest norm allowed, a finite number > 0
 * @param normType 2 (Euclidean, default) or Infinity (largest absolute value)
 * @returns the norm of the gradients before clipping (computed in float64)
 * @throws TypeError or RangeError for invalid arguments; LstmError ERR_LSTM_BUSY while an async call
 *   runs on the model, ERR_LSTM_STATE for stale parameters.
 * @example
 * model.backward(...); const norm = clipGradNorm(model.parameters(), 1.0); opt.step();
 */
export function clipGradNorm(params: Parameters, maxNorm: number, normType = 2): number {
  const where = 'clipGradNorm';
  checkParameters(where, params, true);
  params.block?.assertIdle(where);
  checkPositive(where, 'maxNorm', maxNorm);
  if (typeof normType !== 'number') throw typeError(`${where}: normType must be 2 or Infinity, got ${describe(normType)}`);
  if (normType !== 2 && normType !== Infinity) throw rangeError(`${where}: normType must be 2 or Infinity, got ${describe(normType)}`);
  const native = optimNative();
  const grads = params.grads;
  const norm = normType === 2 ? Math.sqrt(native.sumSquares({ x: grads })) : native.maxAbs({ x: grads });
  const coef = maxNorm / (norm + 1e-6);
  // torch.clamp(coef, max=1) then mul_: a no-op at 1, NaN propagates.
  if (coef < 1 || Number.isNaN(coef)) native.scaleInPlace({ x: grads, s: coef });
  return norm;
}

/**
 * Clamps every gradient in place to [-clipValue, clipValue], as torch.nn.utils.clip_grad_value_
 * (NaN gradients stay NaN).
 * @param params what `model.parameters()` returns
 * @param clipValue the largest absolute value allowed, a finite number > 0
 * @throws TypeError or RangeError for invalid arguments; LstmError ERR_LSTM_BUSY while an async call
 *   runs on the model, ERR_LSTM_STATE for stale parameters.
 */
export function clipGradValue(params: Parameters, clipValue: number): void {
  const where = 'clipGradValue';
  checkParameters(where, params, true);
  params.block?.assertIdle(where);
  checkPositive(where, 'clipValue', clipValue);
  optimNative().clampInPlace({ x: params.grads, lo: -clipValue, hi: clipValue });
}
