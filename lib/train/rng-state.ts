/**
 * The state of a model's generators (dropout masks) for checkpoints, through the layers'
 * `rngState()` / `loadRngState()` when the model has them.
 * @internal
 */
import { LstmError } from '../errors.js';
import type { Module } from '../layers/module.js';

interface WithRng {
  rngState?: () => unknown;
  loadRngState?: (state: unknown) => void;
}

/** The model's generator state as plain JSON, or null when it has none to save. */
export function modelRng(model: Module): unknown {
  const m = model as unknown as WithRng;
  return typeof m.rngState === 'function' ? m.rngState() : null;
}

/** Restores what {@link modelRng} saved. */
export function loadModelRng(model: Module, state: unknown, file: string): void {
  if (state === null || state === undefined) return;
  const m = model as unknown as WithRng;
  if (typeof m.loadRngState !== 'function') {
    throw new LstmError(`${file}: the checkpoint holds generator state this model cannot load`, 'ERR_LSTM_FILE');
  }
  m.loadRngState(state);
}
