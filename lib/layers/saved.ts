/**
 * What a layer keeps from its last forward for its backward, and when a backward may use it:
 * - after a forward that kept something (not `noGrad`), before any backward consumed it;
 * - only while the model's parameters have the version the forward ran with (see parameters.ts);
 * - once: a backward consumes the activations unless asked to retain them (PyTorch's
 *   `retain_graph`), so a second backward cannot silently add the same gradients again.
 * Every layer (and the LSTM engine) holds one of these, so the three refusals read the same everywhere.
 * Package-internal.
 */
import { LstmError } from '../errors.js';
import type { ParamBlock } from '../parameters.js';
import type { FloatArray } from '../binding.js';

export class SavedActivations<T> {
  private value: T | null = null;
  private version = 0;
  /** True when a backward consumed the last forward's activations. */
  private spent = false;

  /** Keeps `value` from a forward that ran with the block at `version`. */
  keep(value: T, version: number): void {
    this.value = value;
    this.version = version;
    this.spent = false;
  }

  /** Forgets the last forward (a forward that keeps nothing, e.g. noGrad). */
  clear(): void {
    this.value = null;
    this.spent = false;
  }

  /** What the last forward kept, or null (nothing kept, or already consumed). */
  peek(): T | null {
    return this.value;
  }

  /**
   * Throws LstmError ERR_LSTM_STATE unless a backward may use the activations now: there are some,
   * unconsumed, from a forward with the block's current version. Returns them.
   */
  check(where: string, block: ParamBlock<FloatArray>): T {
    if (this.value === null) {
      throw new LstmError(this.spent
        ? `${where}: the last forward's activations were already used by a backward; run forward() again ` +
          '(or pass retainGraph: true to the earlier backward to run several)'
        : `${where}: call forward() before backward() (a forward with noGrad keeps nothing for it)`, 'ERR_LSTM_STATE');
    }
    if (this.version !== block.version) {
      throw new LstmError(`${where}: the parameters changed since the forward (an optimizer step, loadStateDict, ` +
        'resetParameters or an init function); its activations belong to the old weights: run forward() again',
        'ERR_LSTM_STATE');
    }
    return this.value;
  }

  /** As {@link check}, then consumes the activations unless `retain`. */
  take(where: string, block: ParamBlock<FloatArray>, retain: boolean): T {
    const value = this.check(where, block);
    if (!retain) {
      this.value = null;
      this.spent = true;
    }
    return value;
  }
}
