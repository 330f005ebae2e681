/**
 * The CLI's view of model files (the package's format: `model.save` / `loadModel`, lib/io/): the
 * model, its architecture and metadata, and for character models the vocabulary, which the CLI
 * keeps in the user metadata key `lstm.vocab` (a JSON array of strings, one per token id).
 */
import { existsSync, statSync } from 'node:fs';
import { LstmError } from '../errors.js';
import type { ModuleSpec } from '../io/architecture.js';
import { loadModel, saveModel } from '../io/model-file.js';
import { modelInfo } from '../io/model-info.js';
import type { Module } from '../layers/module.js';

/** The metadata key of a character model's vocabulary. */
export const VOCAB_KEY = 'lstm.vocab';

/** A loaded model file: the model (in eval mode), its vocabulary when it has one, and its metadata. */
export interface LoadedModel {
  model: Module;
  vocab: string[] | null;
  architecture: ModuleSpec | null;
  formatVersion: number | null;
  metadata: Record<string, string>;
}

/** Writes `model` (and its vocabulary) to `path` atomically (model.save). */
export async function saveModelFile(path: string, model: Module,
  extra: { vocab?: string[] | null; metadata?: Record<string, string> } = {}): Promise<void> {
  const metadata = { ...extra.metadata, ...(extra.vocab ? { [VOCAB_KEY]: JSON.stringify(extra.vocab) } : {}) };
  await saveModel(model, path, { metadata });
}

/**
 * Reads a model file (or a TensorFlow.js model.json) and rebuilds its model, in eval mode.
 * @throws LstmError ERR_LSTM_FILE naming the file and the problem
 */
export async function loadModelFile(path: string): Promise<LoadedModel> {
  const fail = (why: string): never => { throw new LstmError(`${path}: ${why}`, 'ERR_LSTM_FILE'); };
  if (!existsSync(path)) fail('no such file');
  if (statSync(path).isDirectory()) fail('is a directory, not a model file');
  const model = await loadModel(path);
  const metadata = modelInfo(model)?.metadata ?? {};
  let vocab: string[] | null = null;
  if (metadata[VOCAB_KEY] !== undefined) {
    let v: unknown;
    try { v = JSON.parse(metadata[VOCAB_KEY]); } catch { v = null; }
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(`${VOCAB_KEY} is not a JSON array of strings`);
    vocab = v as string[];
  }
  let architecture: ModuleSpec | null = null;
  try { architecture = metadata.architecture ? JSON.parse(metadata.architecture) as ModuleSpec : null; } catch { /* loadModel checked it */ }
  const version = Number(metadata.format_version);
  model.eval();
  return { model, vocab, architecture, formatVersion: Number.isInteger(version) ? version : null, metadata };
}
