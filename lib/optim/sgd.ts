/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay: torch.optim.SGD. */
import type { Parameters } from '../parameters.js';
import { rangeError } from '../errors.js';
import { checkBoolean, checkNonNegative, checkNumber, checkOptions } from '../validate.js';
import { optimNative } from './native.js';
import { checkLr, Optimizer } from './optimizer.js';

/** Options of {@link SGD}: torch.optim.SGD's, camelCase. */
export interface SGDOptions {
  /** Learning rate, > 0 (required). */
  lr: number;
  /** Momentum factor, >= 0 (default 0: no momentum buffer). */
  momentum?: number;
  /** Dampening for momentum, in [0, 1] (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, >= 0 (default 0). */
  weightDecay?: number;
}

/** {@link SGDOptions} with every default filled in. */
export type SGDConfig = Required<SGDOptions>;

const KNOWN = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay'];

/**
 * torch.optim.SGD, exactly: per step, with g the gradient,
 * `g += weightDecay * p`; with momentum, `buf = g` on the first step and
 * `buf = momentum * buf + (1 - dampening) * g` afterwards, then `g = g + momentum * buf` (Nesterov)
 * or `g = buf`; finally `p -= lr * g`. State buffer: `momentum_buffer` (when momentum != 0).
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * // after backward(): opt.step(); opt.zeroGrad();
 */
export class SGD extends Optimizer<SGDConfig> {
  /**
   * @throws TypeError or RangeError for an unknown option or invalid value; nesterov without
   *   momentum > 0 and dampening 0.
   */
  constructor(params: Parameters, options: SGDOptions) {
    super(params, options);
  }

  override get type(): string {
    return 'SGD';
  }

  protected override resolveOptions(where: string, options: unknown, initial: boolean): SGDConfig {
    const o = checkOptions(where, options, KNOWN);
    const lr = checkLr(where, o.lr, initial);
    const momentum = o.momentum === undefined ? 0 : checkNonNegative(where, 'momentum', o.momentum);
    const dampening = o.dampening === undefined ? 0 : checkNumber(where, 'dampening', o.dampening, 0, 1);
    const nesterov = o.nesterov === undefined ? false : checkBoolean(where, 'nesterov', o.nesterov);
    const weightDecay = o.weightDecay === undefined ? 0 : checkNonNegative(where, 'weightDecay', o.weightDecay);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw rangeError(`${where}: nesterov requires momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`);
    }
    return { lr, momentum, dampening, nesterov, weightDecay };
  }

  protected override bufferNames(config: SGDConfig): string[] {
    return config.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected override update(step: number): void {
    const c = this.config;
    optimNative().sgdStep({ param: this.params.values, grad: this.params.grads,
      momentumBuffer: this.buffers.momentum_buffer ?? null, lr: c.lr, momentum: c.momentum, dampening: c.dampening,
      weightDecay: c.weightDecay, nesterov: c.nesterov, firstStep: step === 1 });
  }
}
