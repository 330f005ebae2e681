/** Adam (optionally AMSGrad) and AdamW: torch.optim.Adam and torch.optim.AdamW. */
import type { Parameters } from '../parameters.js';
import { describe, typeError } from '../errors.js';
import { checkBoolean, checkNonNegative, checkNumber, checkOptions } from '../validate.js';
import { optimNative } from './native.js';
import { checkLr, Optimizer } from './optimizer.js';

/** Options of {@link Adam} and {@link AdamW}: torch.optim.Adam's, camelCase. */
export interface AdamOptions {
  /** Learning rate, > 0 (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages, each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator, >= 0 (default 1e-8). */
  eps?: number;
  /**
   * Weight decay, >= 0 (default 0 for Adam, 1e-2 for AdamW). Adam adds `weightDecay * p` to the
   * gradient (L2); AdamW multiplies the parameters by `1 - lr * weightDecay` before the update.
   */
  weightDecay?: number;
  /** Use the maximum of all second moment averages so far (AMSGrad; default false). */
  amsgrad?: boolean;
}

/** Options of {@link AdamW} (weightDecay defaults to 1e-2). */
export type AdamWOptions = AdamOptions;

/** {@link AdamOptions} with every default filled in. */
export interface AdamConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

const KNOWN = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'];

/**
 * torch.optim.Adam, exactly: per step t, with g the gradient,
 * `g += weightDecay * p`; `m = lerp(m, g, 1 - beta1)`; `v = beta2 * v + (1 - beta2) * g * g`;
 * with amsgrad `vmax = max(vmax, v)` used in place of v;
 * `p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
 * State buffers: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamConfig> {
  /** @throws TypeError or RangeError for an unknown option or invalid value. */
  constructor(params: Parameters, options?: AdamOptions) {
    super(params, options);
  }

  override get type(): string {
    return 'Adam';
  }

  /** True for AdamW: weight decay multiplies the parameters instead of adding to the gradient. @internal */
  protected get decoupledWeightDecay(): boolean {
    return false;
  }

  /** @internal */
  protected get defaultWeightDecay(): number {
    return 0;
  }

  protected override resolveOptions(where: string, options: unknown, initial: boolean): AdamConfig {
    const o = checkOptions(where, options, KNOWN);
    const lr = o.lr === undefined ? 1e-3 : checkLr(where, o.lr, initial);
    let betas: [number, number] = [0.9, 0.999];
    if (o.betas !== undefined) {
      if (!Array.isArray(o.betas) || o.betas.length !== 2) {
        throw typeError(`${where}: betas must be an array of two numbers [beta1, beta2], got ${describe(o.betas)}`);
      }
      betas = [checkNumber(where, 'betas[0]', o.betas[0], 0, 1, false), checkNumber(where, 'betas[1]', o.betas[1], 0, 1, false)];
    }
    const eps = o.eps === undefined ? 1e-8 : checkNonNegative(where, 'eps', o.eps);
    const weightDecay = o.weightDecay === undefined ? this.defaultWeightDecay : checkNonNegative(where, 'weightDecay', o.weightDecay);
    const amsgrad = o.amsgrad === undefined ? false : checkBoolean(where, 'amsgrad', o.amsgrad);
    return { lr, betas, eps, weightDecay, amsgrad };
  }

  protected override bufferNames(config: AdamConfig): string[] {
    return config.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected override update(step: number): void {
    const c = this.config;
    const b = this.buffers;
    optimNative().adamStep({ param: this.params.values, grad: this.params.grads, expAvg: b.exp_avg!,
      expAvgSq: b.exp_avg_sq!, maxExpAvgSq: b.max_exp_avg_sq ?? null, step, lr: c.lr, beta1: c.betas[0],
      beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay, decoupledWeightDecay: this.decoupledWeightDecay });
  }
}

/**
 * torch.optim.AdamW, exactly: {@link Adam} with decoupled weight decay, `p *= 1 - lr * weightDecay`
 * before the Adam update (weightDecay defaults to 1e-2).
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
 */
export class AdamW extends Adam {
  /** @throws TypeError or RangeError for an unknown option or invalid value. */
  constructor(params: Parameters, options?: AdamWOptions) {
    super(params, options);
  }

  override get type(): string {
    return 'AdamW';
  }

  protected override get decoupledWeightDecay(): boolean {
    return true;
  }

  protected override get defaultWeightDecay(): number {
    return 1e-2;
  }
}
