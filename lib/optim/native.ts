/**
 * The native optimizer kernels (native/binding_optim.cc), typed by augmenting the one interface of
 * the native surface. Positional arguments, arrays first: `param` fixes n and every other array must
 * be a Float32Array of n elements; a null optional buffer switches its feature off.
 * @internal
 */
import { loadNative, type NativeBinding } from '../binding.js';

declare module '../binding.js' {
  interface NativeBinding {
    /** torch.optim.SGD step; momentumBuffer is required when momentum != 0 (set to the gradient when firstStep). */
    sgdStep(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, lr: number,
      momentum: number, dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void;
    /** torch.optim.Adam/AdamW step; maxExpAvgSq given means amsgrad; step counts from 1. */
    adamStep(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array,
      maxExpAvgSq: Float32Array | null, step: number, lr: number, beta1: number, beta2: number, eps: number,
      weightDecay: number, decoupledWeightDecay: boolean): void;
    /** torch.optim.RMSprop step; gradAvg given means centered; momentumBuffer is required when momentum > 0. */
    rmspropStep(param: Float32Array, grad: Float32Array, squareAvg: Float32Array, gradAvg: Float32Array | null,
      momentumBuffer: Float32Array | null, lr: number, alpha: number, eps: number, weightDecay: number,
      momentum: number): void;
    /** torch.optim.Adagrad step; step counts from 1. */
    adagradStep(param: Float32Array, grad: Float32Array, stateSum: Float32Array, step: number, lr: number,
      lrDecay: number, weightDecay: number, eps: number): void;
    /** Sum of x[i]^2, accumulated in float64 in a fixed order. */
    sumSquares(x: Float32Array): number;
    /** max |x[i]|; NaN when any element is NaN. */
    maxAbs(x: Float32Array): number;
    /** x[i] *= s (s rounded to float32). */
    scaleInPlace(x: Float32Array, s: number): void;
    /** x[i] = min(max(x[i], lo), hi); NaN stays NaN. */
    clampInPlace(x: Float32Array, lo: number, hi: number): void;
  }
}

/** The addon, with the optimizer kernels typed. */
export function optimNative(): NativeBinding {
  return loadNative();
}
