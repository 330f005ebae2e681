/**
 * A model's parameters as one contiguous Float32Array, its gradients as a second one of the same
 * layout, and the named slots that cut both into tensors. Optimizers, gradient clipping and
 * saving work on the flat arrays in one pass; names and shapes are for people and files.
 */
import type { ParamSlot } from './layers/lstm-layout.js';
import type { Tensor } from './tensor.js';

export type { ParamSlot };

/** What {@link Module.parameters} returns and optimizers take. */
export class Parameters {
  /**
   * @param values every parameter, back to back (live: writing changes the model)
   * @param grads the gradients, same layout
   * @param slots where each named tensor sits in both
   */
  constructor(readonly values: Float32Array, readonly grads: Float32Array, readonly slots: readonly ParamSlot[]) {}

  /** Number of scalar parameters. */
  get size(): number {
    return this.values.length;
  }

  /** Live views of the values by name. */
  named(): Record<string, Tensor> {
    return viewsOf(this.values, this.slots);
  }

  /** Live views of the gradients by name. */
  namedGradients(): Record<string, Tensor> {
    return viewsOf(this.grads, this.slots);
  }
}

/** Views of `buf` cut by `slots`: `{ name: { data: subarray, shape } }`. */
export function viewsOf(buf: Float32Array, slots: readonly ParamSlot[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of slots) out[s.name] = { data: buf.subarray(s.offset, s.offset + s.size), shape: [...s.shape] };
  return out;
}
