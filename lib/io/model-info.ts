/**
 * What a loaded model came with: the metadata of its file, kept beside the model (a WeakMap, so the
 * module classes stay unaware of files) and carried into the next save.
 */
import type { Module } from '../layers/module.js';

/** What a model loaded by `loadModel` came with. */
export interface ModelInfo {
  /** The file's metadata (the format's keys and the user's), as kept with the model. */
  metadata: Record<string, string>;
  /** The file (path) or `<buffer ...>` it was read from. */
  source: string;
}

const loaded = new WeakMap<Module, ModelInfo>();

/** The metadata a model loaded by `loadModel` came with, or undefined for a model built in code. */
export function modelInfo(model: Module): ModelInfo | undefined {
  const info = loaded.get(model);
  return info && { metadata: { ...info.metadata }, source: info.source };
}

/** Records what a loader read, for {@link modelInfo}. @internal */
export function rememberInfo(model: Module, info: ModelInfo): void {
  loaded.set(model, info);
}
