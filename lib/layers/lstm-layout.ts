/**
 * The parameter layout of a (stacked, optionally bidirectional, optionally projected) LSTM, with
 * PyTorch's state-dict names and order: for each layer, for each direction, weight_ih, weight_hh,
 * bias_ih, bias_hh, then weight_hr when projSize > 0; the reverse direction's names end in
 * `_reverse`. Shapes mirror native/kernel/lstm.h:
 *   weight_ih_l{k} (4H, I_k)   weight_hh_l{k} (4H, Hout)   bias_ih/hh_l{k} (4H)   weight_hr_l{k} (P, H)
 * where I_0 = inputSize, I_k = D * Hout for k > 0, Hout = projSize || hiddenSize.
 * Package-internal.
 */
import type { ParamSlot } from '../parameters.js';

export interface LstmShapeConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  projSize: number;
}

/** The slots of one layer-direction, in the order the kernel takes them. */
export interface LayerDirSlots {
  layer: number;
  reverse: boolean;
  inputSize: number;
  wIh: ParamSlot;
  wHh: ParamSlot;
  bIh: ParamSlot;
  bHh: ParamSlot;
  wHr: ParamSlot | null;
}

export interface LstmLayout {
  slots: ParamSlot[];
  layerDirs: LayerDirSlots[];
  /** Total number of parameters (length of the flat buffer). */
  size: number;
}

/** Builds the layout; `prefix` is prepended to every name (e.g. "lstm."). */
export function lstmLayout(cfg: LstmShapeConfig, prefix = ''): LstmLayout {
  const H = cfg.hiddenSize;
  const P = cfg.projSize;
  const Hout = P > 0 ? P : H;
  const D = cfg.bidirectional ? 2 : 1;
  const slots: ParamSlot[] = [];
  const layerDirs: LayerDirSlots[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): ParamSlot => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slot = { name: prefix + name, shape, offset, size };
    offset += size;
    slots.push(slot);
    return slot;
  };
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    const inputSize = layer === 0 ? cfg.inputSize : D * Hout;
    for (let dir = 0; dir < D; dir++) {
      const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
      const wIh = add(`weight_ih${sfx}`, [4 * H, inputSize]);
      const wHh = add(`weight_hh${sfx}`, [4 * H, Hout]);
      const bIh = add(`bias_ih${sfx}`, [4 * H]);
      const bHh = add(`bias_hh${sfx}`, [4 * H]);
      const wHr = P > 0 ? add(`weight_hr${sfx}`, [P, H]) : null;
      layerDirs.push({ layer, reverse: dir === 1, inputSize, wIh, wHh, bIh, bHh, wHr });
    }
  }
  return { slots, layerDirs, size: offset };
}
