/** Adagrad with learning-rate decay: torch.optim.Adagrad (dense gradients). */
import type { Parameters } from '../parameters.js';
import { checkNonNegative, checkOptions } from '../validate.js';
import { optimNative } from './native.js';
import { checkLr, Optimizer } from './optimizer.js';

/** Options of {@link Adagrad}: torch.optim.Adagrad's, camelCase. */
export interface AdagradOptions {
  /** Learning rate, > 0 (default 1e-2). */
  lr?: number;
  /** Learning-rate decay, >= 0 (default 0): step t uses `lr / (1 + (t - 1) * lrDecay)`. */
  lrDecay?: number;
  /** L2 penalty added to the gradient, >= 0 (default 0). */
  weightDecay?: number;
  /** Starting value of the sum of squared gradients, >= 0 (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the denominator, >= 0 (default 1e-10). */
  eps?: number;
}

/** {@link AdagradOptions} with every default filled in. */
export type AdagradConfig = Required<AdagradOptions>;

const KNOWN = ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'];

/**
 * torch.optim.Adagrad, exactly: per step t, with g the gradient, `g += weightDecay * p`;
 * `clr = lr / (1 + (t - 1) * lrDecay)`; `sum += g * g`; `p -= clr * g / (sqrt(sum) + eps)`.
 * State buffer: `sum`, started at initialAccumulatorValue.
 * @example
 * const opt = new Adagrad(model.parameters(), { lr: 0.05, initialAccumulatorValue: 0.1 });
 */
export class Adagrad extends Optimizer<AdagradConfig> {
  /** @throws TypeError or RangeError for an unknown option or invalid value. */
  constructor(params: Parameters, options?: AdagradOptions) {
    super(params, options);
  }

  override get type(): string {
    return 'Adagrad';
  }

  protected override resolveOptions(where: string, options: unknown, initial: boolean): AdagradConfig {
    const o = checkOptions(where, options, KNOWN);
    return {
      lr: o.lr === undefined ? 1e-2 : checkLr(where, o.lr, initial),
      lrDecay: o.lrDecay === undefined ? 0 : checkNonNegative(where, 'lrDecay', o.lrDecay),
      weightDecay: o.weightDecay === undefined ? 0 : checkNonNegative(where, 'weightDecay', o.weightDecay),
      initialAccumulatorValue: o.initialAccumulatorValue === undefined ? 0
        : checkNonNegative(where, 'initialAccumulatorValue', o.initialAccumulatorValue),
      eps: o.eps === undefined ? 1e-10 : checkNonNegative(where, 'eps', o.eps),
    };
  }

  protected override bufferNames(): string[] {
    return ['sum'];
  }

  protected override bufferInit(_name: string, config: AdagradConfig): number {
    return config.initialAccumulatorValue;
  }

  protected override update(step: number): void {
    const c = this.config;
    optimNative().adagradStep({ param: this.params.values, grad: this.params.grads, stateSum: this.buffers.sum!,
      step, lr: c.lr, lrDecay: c.lrDecay, weightDecay: c.weightDecay, eps: c.eps });
  }
}
