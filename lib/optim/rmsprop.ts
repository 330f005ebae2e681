/** RMSprop, optionally centered and with momentum: torch.optim.RMSprop. */
import type { Parameters } from '../parameters.js';
import { checkBoolean, checkNonNegative, checkNumber, checkOptions } from '../validate.js';
import { optimNative } from './native.js';
import { checkLr, Optimizer } from './optimizer.js';

/** Options of {@link RMSprop}: torch.optim.RMSprop's, camelCase. */
export interface RMSpropOptions {
  /** Learning rate, > 0 (default 1e-2). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average, in [0, 1] (default 0.99). */
  alpha?: number;
  /** Added to the denominator, >= 0 (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient, >= 0 (default 0). */
  weightDecay?: number;
  /** Momentum factor, >= 0 (default 0). */
  momentum?: number;
  /** Normalise by the estimated variance of the gradient instead of its second moment (default false). */
  centered?: boolean;
}

/** {@link RMSpropOptions} with every default filled in. */
export type RMSpropConfig = Required<RMSpropOptions>;

const KNOWN = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'];

/**
 * torch.optim.RMSprop, exactly: per step, with g the gradient, `g += weightDecay * p`;
 * `s = alpha * s + (1 - alpha) * g * g`; centered: `a = lerp(a, g, 1 - alpha)` and
 * `avg = sqrt(s - a * a) + eps`, else `avg = sqrt(s) + eps`; with momentum
 * `buf = momentum * buf + g / avg` and `p -= lr * buf`, else `p -= lr * g / avg`.
 * State buffers: `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg` (centered).
 * @example
 * const opt = new RMSprop(model.parameters(), { lr: 1e-3, centered: true });
 */
export class RMSprop extends Optimizer<RMSpropConfig> {
  /** @throws TypeError or RangeError for an unknown option or invalid value. */
  constructor(params: Parameters, options?: RMSpropOptions) {
    super(params, options);
  }

  override get type(): string {
    return 'RMSprop';
  }

  protected override resolveOptions(where: string, options: unknown, initial: boolean): RMSpropConfig {
    const o = checkOptions(where, options, KNOWN);
    return {
      lr: o.lr === undefined ? 1e-2 : checkLr(where, o.lr, initial),
      alpha: o.alpha === undefined ? 0.99 : checkNumber(where, 'alpha', o.alpha, 0, 1),
      eps: o.eps === undefined ? 1e-8 : checkNonNegative(where, 'eps', o.eps),
      weightDecay: o.weightDecay === undefined ? 0 : checkNonNegative(where, 'weightDecay', o.weightDecay),
      momentum: o.momentum === undefined ? 0 : checkNonNegative(where, 'momentum', o.momentum),
      centered: o.centered === undefined ? false : checkBoolean(where, 'centered', o.centered),
    };
  }

  protected override bufferNames(config: RMSpropConfig): string[] {
    const names = ['square_avg'];
    if (config.momentum > 0) names.push('momentum_buffer');
    if (config.centered) names.push('grad_avg');
    return names;
  }

  protected override update(): void {
    const c = this.config;
    const b = this.buffers;
    optimNative().rmspropStep({ param: this.params.values, grad: this.params.grads, squareAvg: b.square_avg!,
      gradAvg: b.grad_avg ?? null, momentumBuffer: b.momentum_buffer ?? null, lr: c.lr, alpha: c.alpha, eps: c.eps,
      weightDecay: c.weightDecay, momentum: c.momentum });
  }
}
